// Pure rules of the account settings (src/ui/Account.tsx): the TOTP secret the client makes
// and its `otpauth://` URI, what a profile form sends, how a session's device is named.
import type { ModifyMeBody, User } from './api/wire';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what authenticator apps take as a TOTP secret). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A fresh TOTP secret: 160 random bits (RFC 4226's recommendation), 32 base32 characters. */
export function newTotpSecret(random: (b: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  return base32(random(new Uint8Array(20)));
}

/** The secret in groups of four, easier to type into an app. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** The server name of a handle `name@server` (the issuer an authenticator app shows). */
export function serverOfHandle(handle: string): string {
  const at = handle.lastIndexOf('@');
  return at >= 0 ? handle.slice(at + 1) : handle;
}

/**
 * The key URI authenticator apps read (Google Authenticator's "Key Uri Format"):
 * `otpauth://totp/{issuer}:{account}?secret=...&issuer=...` with the parameters the server
 * checks (SHA-1, 6 digits, 30 s), said explicitly.
 */
export function otpauthUri(secret: string, account: string, issuer: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const q = new URLSearchParams({ secret, issuer, algorithm: 'SHA1', digits: '6', period: '30' });
  return `otpauth://totp/${label}?${q.toString()}`;
}

/** What the profile form holds: the display name as typed, and the avatar chosen
 *  (`undefined`: unchanged, `null`: removed, a data URI: a new image). */
export interface ProfileForm {
  globalName: string;
  avatar: string | null | undefined;
}

/** The `PATCH /users/@me` body of a profile form: only what changed (an empty display name
 *  is `null`: the username shows instead); null when nothing did. */
export function profilePatch(me: Pick<User, 'global_name' | 'avatar'>, form: ProfileForm): ModifyMeBody | null {
  const body: ModifyMeBody = {};
  const name = form.globalName.trim();
  const globalName = name === '' ? null : name;
  if (globalName !== me.global_name) body.global_name = globalName;
  if (form.avatar !== undefined && !(form.avatar === null && me.avatar === null)) body.avatar = form.avatar;
  return Object.keys(body).length > 0 ? body : null;
}

/** The client-side check of a new password: `'mismatch'` when the two entries differ. */
export function passwordProblem(next: string, confirm: string): 'mismatch' | null {
  return next === confirm ? null : 'mismatch';
}

/** A short name of the browser and system of a session's User-Agent ("Firefox on Linux"),
 *  or null when it says nothing recognisable. */
export function describeAgent(ua: string | null | undefined): { browser: string | null; os: string | null } | null {
  if (!ua) return null;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /^curl\//.test(ua)
              ? 'curl'
              : null;
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  return browser || os ? { browser, os } : null;
}
