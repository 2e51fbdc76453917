import { describe, expect, it } from 'vitest';
import {
  base32,
  describeAgent,
  groupSecret,
  newTotpSecret,
  otpauthUri,
  passwordProblem,
  profilePatch,
  serverOfHandle,
} from './account';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('base32', () => {
  it('matches the RFC 4648 test vectors (without padding)', () => {
    expect(base32(bytes(''))).toBe('');
    expect(base32(bytes('f'))).toBe('MY');
    expect(base32(bytes('fo'))).toBe('MZXQ');
    expect(base32(bytes('foo'))).toBe('MZXW6');
    expect(base32(bytes('foob'))).toBe('MZXW6YQ');
    expect(base32(bytes('fooba'))).toBe('MZXW6YTB');
    expect(base32(bytes('foobar'))).toBe('MZXW6YTBOI');
  });
  it('encodes RFC 6238 key "12345678901234567890" as authenticator apps expect', () => {
    expect(base32(bytes('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });
});

describe('newTotpSecret', () => {
  it('makes 160 bits: 32 base32 characters the server accepts', () => {
    const s = newTotpSecret();
    expect(s).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(s);
  });
  it('uses the random source it is given', () => {
    expect(newTotpSecret((b) => b.fill(0))).toBe('A'.repeat(32));
  });
});

describe('otpauthUri', () => {
  it('names issuer and account, with the parameters the server checks', () => {
    const uri = otpauthUri('JBSWY3DPEHPK3PXP', 'ada@chat.example', 'chat.example');
    expect(uri).toBe(
      'otpauth://totp/chat.example:ada%40chat.example?secret=JBSWY3DPEHPK3PXP&issuer=chat.example&algorithm=SHA1&digits=6&period=30',
    );
  });
  it('escapes a server name with a port', () => {
    expect(otpauthUri('AAAA', 'a@h:8080', 'h:8080')).toMatch(/^otpauth:\/\/totp\/h%3A8080:a%40h%3A8080\?secret=AAAA&issuer=h%3A8080&/);
  });
});

describe('small helpers', () => {
  it('groups a secret by four', () => {
    expect(groupSecret('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
    expect(groupSecret('ABCDEFGH')).toBe('ABCD EFGH');
  });
  it('takes the server of a handle', () => {
    expect(serverOfHandle('ada@chat.example:8443')).toBe('chat.example:8443');
    expect(serverOfHandle('ada')).toBe('ada');
  });
  it('checks the confirmation of a new password', () => {
    expect(passwordProblem('a', 'a')).toBeNull();
    expect(passwordProblem('a', 'b')).toBe('mismatch');
  });
});

describe('profilePatch', () => {
  const me = { global_name: 'Ada', avatar: 'abc' };
  it('sends nothing when nothing changed', () => {
    expect(profilePatch(me, { globalName: ' Ada ', avatar: undefined })).toBeNull();
    expect(profilePatch({ global_name: null, avatar: null }, { globalName: '', avatar: null })).toBeNull();
  });
  it('sends a trimmed new display name, and null for an empty one', () => {
    expect(profilePatch(me, { globalName: ' Ada L. ', avatar: undefined })).toEqual({ global_name: 'Ada L.' });
    expect(profilePatch(me, { globalName: '  ', avatar: undefined })).toEqual({ global_name: null });
  });
  it('sends a new avatar or its removal', () => {
    expect(profilePatch(me, { globalName: 'Ada', avatar: 'data:image/png;base64,AA' })).toEqual({ avatar: 'data:image/png;base64,AA' });
    expect(profilePatch(me, { globalName: 'Ada', avatar: null })).toEqual({ avatar: null });
  });
});

describe('describeAgent', () => {
  it('names common browsers and systems', () => {
    const chromeLinux = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
    expect(describeAgent(chromeLinux)).toEqual({ browser: 'Chrome', os: 'Linux' });
    const firefoxWin = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
    expect(describeAgent(firefoxWin)).toEqual({ browser: 'Firefox', os: 'Windows' });
    const safariIos = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    expect(describeAgent(safariIos)).toEqual({ browser: 'Safari', os: 'iOS' });
    const edge = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0';
    expect(describeAgent(edge)?.browser).toBe('Edge');
    expect(describeAgent('curl/8.5.0')).toEqual({ browser: 'curl', os: null });
  });
  it('gives null for nothing recognisable', () => {
    expect(describeAgent(null)).toBeNull();
    expect(describeAgent('')).toBeNull();
    expect(describeAgent('discord.py 2.4')).toBeNull();
  });
});
