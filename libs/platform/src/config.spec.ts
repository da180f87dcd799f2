import { describe, expect, it } from '@jest/globals';
import { ConfigError, describeConfig, parseConfig } from './config.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills in the local stack outside production', () => {
    const config = parseConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/spotgrid');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.GATEWAY_PORT).toBe(3000);
  });

  it('requires where things live in production, and names each missing variable', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual(expect.arrayContaining(['DATABASE_URL is required', 'REDIS_URL is required', 'KAFKA_BROKERS is required']));
  });

  it('names a bad value and says what it must be', () => {
    const problems = problemsOf({ GATEWAY_PORT: '70000', KAFKA_BROKERS: 'localhost', LOG_LEVEL: 'loud' });
    expect(problems.join('\n')).toMatch(/GATEWAY_PORT/);
    expect(problems.join('\n')).toMatch(/KAFKA_BROKERS: must be a comma-separated list of host:port/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
  });

  it('treats an empty variable as missing', () => {
    expect(parseConfig({ LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('never shows a database password, in errors or in the start-up line', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://u:hunter2@db/x' });
    expect(problems.join('\n')).not.toContain('hunter2');
    const shown = describeConfig(parseConfig({ DATABASE_URL: 'postgres://u:hunter2@db:5432/x' }));
    expect(JSON.stringify(shown)).not.toContain('hunter2');
  });

  it('requires the secrets in production, and has none there but what the environment gives', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual(expect.arrayContaining(['SERVICE_TOKEN is required', 'FEED_SECRETS_KEY is required']));
    expect(problems.join('\n')).not.toMatch(/BOOTSTRAP_ADMIN_KEY/);
    const local = parseConfig({});
    expect(local.BOOTSTRAP_ADMIN_KEY).toMatch(/^sgk_/);
    expect(problemsOf({ SERVICE_TOKEN: 'short' }).join('\n')).toMatch(/SERVICE_TOKEN: at least 32 characters/);
    expect(problemsOf({ BOOTSTRAP_ADMIN_KEY: 'admin' }).join('\n')).toMatch(/BOOTSTRAP_ADMIN_KEY: sgk_/);
  });

  it('never shows a secret, whatever it looks like', () => {
    const token = 'svc:a-token-that-parses-as-a-url-0123456789';
    const shown = JSON.stringify(describeConfig(parseConfig({ SERVICE_TOKEN: token, FEED_SECRETS_KEY: 'f'.repeat(40) })));
    expect(shown).not.toContain(token);
    expect(shown).not.toContain('f'.repeat(40));
    expect(shown).not.toContain('local-admin-key');
    expect(problemsOf({ SERVICE_TOKEN: 'hunter2' }).join('\n')).not.toContain('hunter2');
  });

  it('parses broker lists and flags', () => {
    const config = parseConfig({ KAFKA_BROKERS: 'a:9092, b:9093', HTTP_LOG_REQUESTS: 'yes' });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(config.HTTP_LOG_REQUESTS).toBe(true);
  });
});
