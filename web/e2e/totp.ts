// RFC 6238 TOTP for the browser tests (SHA-1, 30 s steps, 6 digits), from a base32 secret,
// with Node's crypto: what an authenticator app would show.
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(s: string): Buffer {
  const clean = s.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code of `key` at `seconds` (Unix time), RFC 4226 dynamic truncation. */
export function totpAt(key: Buffer, seconds: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The code of a base32 `secret`, `steps` steps from now (the server takes ±1). */
export function totp(secret: string, steps = 0): string {
  return totpAt(base32Decode(secret), Date.now() / 1000 + steps * 30);
}

/** Waits, if needed, until at least `room` seconds are left in the current 30 s step, so a
 *  code computed now is still of the same step when the server checks it. */
export async function stepWithRoom(room = 5): Promise<void> {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < room) await new Promise((r) => setTimeout(r, left * 1000 + 200));
}
