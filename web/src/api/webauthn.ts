// WebAuthn in the browser: the server's options arrive as JSON strings (binary fields as
// base64url, webauthn-rs's encoding and the WebAuthn Level 3 JSON form); the browser's
// `navigator.credentials` takes and returns ArrayBuffers. These helpers convert both ways,
// so the server receives the credential as JSON with base64url binary fields.

/** base64url (no padding) of bytes. */
export function toBase64Url(buf: ArrayBuffer | ArrayBufferView): string {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Bytes of a base64url (or base64) string, padding optional. */
export function fromBase64Url(s: string): ArrayBuffer {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** A copy of `v` without `null` members (WebIDL dictionaries refuse `null` for sequences). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
    return out;
  }
  return v;
}

/** The `publicKey` member of a `{"publicKey": {...}}` JSON string (or the object itself). */
function publicKeyOf(json: string): Record<string, unknown> {
  const parsed = withoutNulls(JSON.parse(json)) as Record<string, unknown>;
  return (parsed['publicKey'] ?? parsed) as Record<string, unknown>;
}

interface DescriptorJSON {
  type: string;
  id: string;
  transports?: string[];
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return (list as DescriptorJSON[]).map((d) => ({
    type: 'public-key',
    id: fromBase64Url(d.id),
    ...(d.transports ? { transports: d.transports as AuthenticatorTransport[] } : {}),
  }));
}

/** `{"publicKey": {...}}` (a JSON string) -> options for `navigator.credentials.create`. */
export function creationOptions(json: string): PublicKeyCredentialCreationOptions {
  const pk = publicKeyOf(json) as Record<string, unknown> & {
    challenge: string;
    user: { id: string; name: string; displayName: string };
    excludeCredentials?: unknown;
  };
  const { challenge, user, excludeCredentials, ...rest } = pk;
  const exclude = descriptors(excludeCredentials);
  return {
    ...(rest as unknown as Omit<PublicKeyCredentialCreationOptions, 'challenge' | 'user'>),
    challenge: fromBase64Url(challenge),
    user: { ...user, id: fromBase64Url(user.id) },
    ...(exclude ? { excludeCredentials: exclude } : {}),
  };
}

/** `{"publicKey": {...}}` (a JSON string) -> options for `navigator.credentials.get`. */
export function requestOptions(json: string): PublicKeyCredentialRequestOptions {
  const pk = publicKeyOf(json) as Record<string, unknown> & { challenge: string; allowCredentials?: unknown };
  const { challenge, allowCredentials, ...rest } = pk;
  const allow = descriptors(allowCredentials);
  return {
    ...(rest as Omit<PublicKeyCredentialRequestOptions, 'challenge'>),
    challenge: fromBase64Url(challenge),
    ...(allow ? { allowCredentials: allow } : {}),
  };
}

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && 'PublicKeyCredential' in window && !!navigator.credentials;
}

/** Creates a passkey for the server's creation options; answers the credential as JSON. */
export async function createPasskey(optionsJson: string): Promise<Record<string, unknown>> {
  const cred = (await navigator.credentials.create({ publicKey: creationOptions(optionsJson) })) as PublicKeyCredential | null;
  if (!cred) throw new Error('no passkey was created');
  const r = cred.response as AuthenticatorAttestationResponse;
  return {
    id: cred.id,
    rawId: toBase64Url(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: toBase64Url(r.attestationObject),
      clientDataJSON: toBase64Url(r.clientDataJSON),
      transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
    },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

/** Signs the server's request options with a passkey; answers the assertion as JSON. */
export async function getPasskey(optionsJson: string): Promise<Record<string, unknown>> {
  const cred = (await navigator.credentials.get({ publicKey: requestOptions(optionsJson) })) as PublicKeyCredential | null;
  if (!cred) throw new Error('no passkey was used');
  const r = cred.response as AuthenticatorAssertionResponse;
  return {
    id: cred.id,
    rawId: toBase64Url(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toBase64Url(r.authenticatorData),
      clientDataJSON: toBase64Url(r.clientDataJSON),
      signature: toBase64Url(r.signature),
      userHandle: r.userHandle ? toBase64Url(r.userHandle) : null,
    },
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}
