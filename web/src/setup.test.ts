import { describe, expect, it } from 'vitest';
import { setupTokenOf } from './ui/AuthScreen';

describe('setupTokenOf', () => {
  it('reads the token of a /setup link from the fragment', () => {
    expect(setupTokenOf('/setup', '#abc_DEF-123')).toBe('abc_DEF-123');
    expect(setupTokenOf('/setup/', '#%20abc%20')).toBe('abc');
  });
  it('takes a fragment that is not percent-encoded text as written', () => {
    expect(setupTokenOf('/setup', '#%E0%A4')).toBe('%E0%A4');
  });
  it('gives an empty token on /setup without a fragment, to be pasted', () => {
    expect(setupTokenOf('/setup', '')).toBe('');
  });
  it('is null elsewhere', () => {
    expect(setupTokenOf('/', '#abc')).toBeNull();
    expect(setupTokenOf('/setup-other', '#abc')).toBeNull();
    expect(setupTokenOf('/invite/abc', '')).toBeNull();
  });
});
