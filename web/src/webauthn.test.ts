import { describe, expect, it } from 'vitest';
import { creationOptions, fromBase64Url, requestOptions, toBase64Url } from './api/webauthn';

const bytes = (b: ArrayBuffer | BufferSource) => Array.from(new Uint8Array(b as ArrayBuffer));

describe('WebAuthn JSON <-> ArrayBuffer', () => {
  it('round-trips base64url without padding', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const s = toBase64Url(all);
    expect(s).not.toMatch(/[+/=]/);
    expect(bytes(fromBase64Url(s))).toEqual(Array.from(all));
    expect(bytes(fromBase64Url('-_8'))).toEqual([0xfb, 0xff]);
  });

  it('decodes webauthn-rs creation options, dropping nulls', () => {
    const o = creationOptions(
      JSON.stringify({
        publicKey: {
          rp: { id: 'chat.example', name: 'Hearth' },
          user: { id: 'AQID', name: 'alice', displayName: 'Alice' },
          challenge: 'BAUG',
          pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
          timeout: 300000,
          attestation: 'none',
          excludeCredentials: [{ type: 'public-key', id: 'Bwg' }],
          authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'required' },
          hints: null,
          extensions: { credProps: true, uvm: null },
        },
      }),
    );
    expect(bytes(o.challenge)).toEqual([4, 5, 6]);
    expect(bytes(o.user.id)).toEqual([1, 2, 3]);
    expect(o.excludeCredentials?.map((d) => bytes(d.id))).toEqual([[7, 8]]);
    expect('hints' in o).toBe(false);
    expect(o.extensions).toEqual({ credProps: true });
    expect(o.authenticatorSelection?.residentKey).toBe('preferred');
  });

  it('decodes request options with and without allowCredentials', () => {
    const o = requestOptions(JSON.stringify({ publicKey: { challenge: 'AAE', rpId: 'chat.example', allowCredentials: [{ type: 'public-key', id: 'AQ' }], userVerification: 'required' } }));
    expect(bytes(o.challenge)).toEqual([0, 1]);
    expect(o.allowCredentials?.map((d) => bytes(d.id))).toEqual([[1]]);
    const d = requestOptions(JSON.stringify({ publicKey: { challenge: 'AAE', rpId: 'chat.example' } }));
    expect(d.allowCredentials).toBeUndefined();
  });
});
