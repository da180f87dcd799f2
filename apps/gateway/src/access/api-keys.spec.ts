import { digestMatches, digestOf, issueApiKey, keyIdOf } from './api-keys.js';

describe('API keys', () => {
  it('carries its key id as the lookup prefix and is checked against its digest', () => {
    const key = issueApiKey();
    expect(key.token).toMatch(/^sgk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(keyIdOf(key.token)).toBe(key.keyId);
    expect(digestMatches(key.token, key.digest)).toBe(true);
    expect(key.digest.equals(digestOf(key.token))).toBe(true);
  });

  it('refuses a key whose secret differs by one character, and never looks up a malformed one', () => {
    const key = issueApiKey();
    const last = key.token.at(-1) === 'A' ? 'B' : 'A';
    expect(digestMatches(`${key.token.slice(0, -1)}${last}`, key.digest)).toBe(false);
    expect(keyIdOf('sgk_short_x')).toBeUndefined();
    expect(keyIdOf(`Bearer ${key.token}`)).toBeUndefined();
    expect(keyIdOf(`sgk_${key.keyId}_${'a'.repeat(129)}`)).toBeUndefined();
  });

  it('issues a different key every time', () => {
    const keys = new Set(Array.from({ length: 1_000 }, () => issueApiKey().keyId));
    expect(keys.size).toBe(1_000);
  });
});
