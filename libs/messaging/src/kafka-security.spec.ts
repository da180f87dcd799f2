import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig } from '#platform';
import { kafkaSecurity } from './kafka-client.js';

const env = (extra: Record<string, string> = {}) => parseConfig({ NODE_ENV: 'test', ...extra });

describe('Kafka TLS and SASL from the environment', () => {
  it('is plaintext without credentials by default (a broker on loopback)', () => {
    expect(kafkaSecurity(env())).toEqual({});
  });

  it('turns on TLS, with a private CA when one is named', () => {
    expect(kafkaSecurity(env({ KAFKA_SSL: 'true' }))).toEqual({ ssl: true });
    const read = (path: string) => `PEM of ${path}`;
    expect(kafkaSecurity(env({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem' }), read)).toEqual({
      ssl: { rejectUnauthorized: true, ca: ['PEM of /etc/kafka/ca.pem'] },
    });
  });

  it('authenticates with SASL (SCRAM or PLAIN) when a mechanism is set', () => {
    expect(
      kafkaSecurity(env({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'spotgrid', KAFKA_SASL_PASSWORD: 's3cret' })),
    ).toEqual({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'spotgrid', password: 's3cret' } });
  });

  it('refuses half a configuration, and a clear-text password in production', () => {
    expect(() => env({ KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(() => env({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toThrow(ConfigError);
    expect(() =>
      parseConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db/spotgrid',
        REDIS_URL: 'redis://r',
        KAFKA_BROKERS: 'k:9092',
        SERVICE_TOKEN: 's'.repeat(32),
        FEED_SECRETS_KEY: 'f'.repeat(32),
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }),
    ).toThrow(/sends the password in clear/);
  });

  it('never shows the SASL password in an error', () => {
    try {
      env({ KAFKA_SASL_PASSWORD: 'hunter2', KAFKA_SASL_MECHANISM: 'nope' });
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
      return;
    }
    throw new Error('expected a ConfigError');
  });
});
