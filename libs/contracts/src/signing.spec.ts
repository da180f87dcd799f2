import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { authenticateFeed, feedSecretOf, FeedSecrets, signFeed, verifyFeedSignature, type FeedKey } from './signing.js';

const keys: Record<string, FeedKey> = {
  k1: { keyId: 'k1', providerId: 'acme', secret: 's3cret', revoked: false },
  k0: { keyId: 'k0', providerId: 'acme', secret: 'old', revoked: true },
};
const lookup = (id: string) => keys[id];
const value = Buffer.from('{"providerId":"acme","price":"1.0"}');
const signed = (secret: string, keyId = 'k1') => ({ 'x-key-id': keyId, 'x-signature': signFeed(value, secret) });

describe('feed signatures', () => {
  it('is HMAC-SHA256 in hex, for every length around the block size and for keys of any length', () => {
    const hmac = (v: Buffer, k: string) => createHmac('sha256', k).update(v).digest('hex');
    const secrets = ['', 'k', 's3cret', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'é'.repeat(40), feedSecretOf('m'.repeat(40), 'fk1')];
    for (const secret of secrets) {
      for (let n = 0; n <= 200; n += 1) {
        const body = Buffer.alloc(n, n % 251);
        expect(signFeed(body, secret)).toBe(hmac(body, secret));
      }
    }
    // A message larger than any before it, then a small one again (the scratch space grows, and stays right).
    const big = Buffer.alloc(300_000, 7);
    expect(signFeed(big, 's3cret')).toBe(hmac(big, 's3cret'));
    expect(signFeed(value, 's3cret')).toBe(hmac(value, 's3cret'));
    expect(signFeed(value.toString(), 's3cret')).toBe(hmac(value, 's3cret'));
  });

  it('accepts the exact bytes signed with a live key of the same provider', () => {
    expect(authenticateFeed(value, signed('s3cret'), 'acme', lookup)).toBeUndefined();
  });

  it.each([
    ['unsigned', {}, 'acme'],
    ['unknown-key', signed('s3cret', 'nope'), 'acme'],
    ['revoked-key', signed('old', 'k0'), 'acme'],
    ['bad-signature', signed('guess'), 'acme'],
    ['wrong-provider', signed('s3cret'), 'globex'],
  ] as const)('refuses %s', (failure, headers, provider) => {
    expect(authenticateFeed(value, headers, provider, lookup)).toBe(failure);
  });

  it('signs bytes, not JSON: one changed byte breaks the signature', () => {
    const signature = signFeed(value, 's3cret');
    expect(verifyFeedSignature(Buffer.from(value.toString().replace('1.0', '1.00')), 's3cret', signature)).toBe(false);
    expect(verifyFeedSignature(value, 's3cret', signature.toUpperCase())).toBe(false);
  });

  it('refuses a signature that differs in any one character, or is cut short or padded', () => {
    const signature = signFeed(value, 's3cret');
    expect(verifyFeedSignature(value, 's3cret', signature)).toBe(true);
    for (const i of [0, 31, 63]) {
      const other = signature[i] === '0' ? '1' : '0';
      expect(verifyFeedSignature(value, 's3cret', signature.slice(0, i) + other + signature.slice(i + 1))).toBe(false);
    }
    expect(verifyFeedSignature(value, 's3cret', signature.slice(0, 63))).toBe(false);
    expect(verifyFeedSignature(value, 's3cret', `${signature}0`)).toBe(false);
    expect(verifyFeedSignature(value, 's3cret', '')).toBe(false);
  });
});

describe('derived feed secrets', () => {
  it('are the same for the same key id and platform key, and differ otherwise', () => {
    const master = 'm'.repeat(40);
    expect(feedSecretOf(master, 'fk1')).toBe(feedSecretOf(master, 'fk1'));
    expect(feedSecretOf(master, 'fk1')).not.toBe(feedSecretOf(master, 'fk2'));
    expect(feedSecretOf(master, 'fk1')).not.toBe(feedSecretOf('n'.repeat(40), 'fk1'));
    expect(new FeedSecrets(master).of('fk1')).toBe(feedSecretOf(master, 'fk1'));
  });

  it('sign what verifies with the derived secret, and nothing else', () => {
    const secret = feedSecretOf('m'.repeat(40), 'fk1');
    const body = Buffer.from('{"providerId":"p"}');
    expect(verifyFeedSignature(body, secret, signFeed(body, secret))).toBe(true);
    expect(verifyFeedSignature(body, feedSecretOf('m'.repeat(40), 'fk2'), signFeed(body, secret))).toBe(false);
  });
});
