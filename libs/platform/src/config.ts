import { z } from 'zod';

/**
 * The one configuration of every Spotgrid process (apps, migration CLI, tools), read from the
 * environment once and validated as a whole. A bad or missing value stops start-up with a message
 * that names the variable; nothing reads `process.env` anywhere else.
 *
 * Defaults describe the local stack (`npm start`, `npm test`). In production there are no
 * defaults for where things live: a process that would silently talk to 127.0.0.1 is a bug.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.map((p) => p.replace(':', '')).join(' or ')}` },
  );

const brokerList = z
  .string()
  .transform((v) => v.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
  .refine((list) => list.length > 0 && list.every((b) => /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(b)), {
    message: 'must be a comma-separated list of host:port',
  });

/** Where each variable's value may come from, with its default for the local stack. */
const LOCAL_DEFAULTS = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/spotgrid',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092',
  // Secrets for the local stack only: known values, so `npm start` prints a working admin key.
  SERVICE_TOKEN: 'spotgrid-local-service-token-not-for-production',
  FEED_SECRETS_KEY: 'spotgrid-local-feed-secrets-key-not-for-production',
  BOOTSTRAP_ADMIN_KEY: 'sgk_localadmin_spotgrid-local-admin-key-not-for-production',
} as const;

/** An API key as the gateway issues it: `sgk_<keyId>_<secret>`; the key id is the lookup prefix. */
export const API_KEY_PATTERN = /^sgk_([A-Za-z0-9]{8,32})_([A-Za-z0-9_-]{32,128})$/;

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_POOL_SIZE: positiveInt.max(200).default(10),
  REDIS_URL: url(['redis:', 'rediss:']),
  KAFKA_BROKERS: brokerList,
  KAFKA_CLIENT_ID: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes').default('spotgrid'),
  /** Namespace of the BullMQ queues in Redis, so environments sharing a Redis never share a queue. */
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes').default('spotgrid'),
  /** Partitions for topics the apps create on start (the broker keeps what already exists). */
  /** TLS to the brokers (off: plaintext, for a broker on loopback). A CA file for a private CA. */
  KAFKA_SSL: flag.default(false),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag.default(true),
  /** SASL authentication to the brokers; off unless a mechanism is set. */
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_TOPIC_PARTITIONS: positiveInt.max(256).default(6),
  KAFKA_REPLICATION_FACTOR: positiveInt.max(7).default(1),
  /** Interface the HTTP servers bind to; 0.0.0.0 in containers. */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: port.default(3000),
  MARKET_DATA_PORT: port.default(3001),
  MATCHING_ENGINE_PORT: port.default(3002),
  DISPATCHER_PORT: port.default(3003),
  BILLING_PORT: port.default(3004),
  /** How long a stopping process may take to finish in-flight work before it exits anyway. */
  SHUTDOWN_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  /** Upper bound of the back-off between retries of a transient failure (database or broker down). */
  RETRY_MAX_BACKOFF_MS: positiveInt.max(300_000).default(5_000),
  /** Where the gateway reaches billing for pre-trade holds (the local default is billing's port). */
  BILLING_URL: url(['http:', 'https:']).default('http://127.0.0.1:3004'),
  /** The platform's fee on each allocation, in basis points of its amount (200 = 2%). */
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(5_000).default(200),
  /** Hours after a month ends during which its invoices stay drafts (late usage still lands on them). */
  INVOICE_GRACE_HOURS: z.coerce.number().int().min(0).max(24 * 60).default(72),
  /** Jobs the matching engine's BullMQ worker takes at once (they are written in groups). */
  MATCHING_CONCURRENCY: positiveInt.max(2_000).default(256),
  /**
   * How the dispatcher reaches each provider: a JSON object from provider id (or "*", any other
   * provider) to its adapter and limits; docs/contracts.md lists the fields. By default every
   * provider is simulated, so a local market runs its jobs out of the box.
   */
  DISPATCH_PROVIDERS: z.string().max(100_000).default('{"*":{"adapter":"simulated"}}'),
  /** How many times a job's unfinished work may go back to matching before the job fails. */
  DISPATCH_MAX_ATTEMPTS: z.coerce.number().int().min(0).max(20).default(3),
  /** The token Spotgrid services present to each other's internal routes (billing's holds and funds). */
  SERVICE_TOKEN: z.string().min(32, 'at least 32 characters').max(512),
  /**
   * The key provider feed secrets are derived from (HMAC of the key id): the database stores no
   * feed secret at all. Changing it invalidates every feed key.
   */
  FEED_SECRETS_KEY: z.string().min(32, 'at least 32 characters').max(512),
  /** An admin API key created on first start (when its key id is not known yet), to make the first principals with. */
  BOOTSTRAP_ADMIN_KEY: z.string().regex(API_KEY_PATTERN, 'sgk_<8-32 letters or digits>_<32-128 of A-Z a-z 0-9 _ ->').optional(),
  /** Requests per second each API key may make at the gateway (a one-second window in Redis). */
  RATE_LIMIT_PER_SECOND: positiveInt.max(1_000_000).default(200),
  /** Refused authentications per second from one address before it gets 429s instead (guessing keys costs lookups). */
  AUTH_FAILURES_PER_SECOND: positiveInt.max(1_000_000).default(20),
  /** Log each HTTP request (health probes are never logged). */
  HTTP_LOG_REQUESTS: flag.default(false),
});

export type Config = z.infer<typeof configSchema>;
export type AppName = 'gateway' | 'market-data' | 'matching-engine' | 'dispatcher' | 'billing';

/** Values that must never reach a log line. */
export const SENSITIVE_KEYS: ReadonlySet<keyof Config> = new Set<keyof Config>([
  'DATABASE_URL',
  'REDIS_URL',
  'KAFKA_SASL_PASSWORD',
  'SERVICE_TOKEN',
  'FEED_SECRETS_KEY',
  'BOOTSTRAP_ADMIN_KEY',
]);

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment; pure, so tests can feed it any map. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const production = env['NODE_ENV'] === 'production';
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const raw = env[key];
    // An empty variable is a missing one: `FOO= npm start` must not mean "FOO is the empty string".
    input[key] = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }
  if (!production) {
    for (const [key, value] of Object.entries(LOCAL_DEFAULTS)) input[key] ??= value;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        const missing = input[key] === undefined;
        return missing ? `${key} is required` : `${key}: ${issue.message} (got ${JSON.stringify(redact(key, input[key]))})`;
      }),
    );
  }
  const problems = crossChecks(parsed.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(parsed.data);
}

/** Rules between variables, which one variable's schema cannot say. */
function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  if (c.KAFKA_SASL_MECHANISM !== undefined && (c.KAFKA_SASL_USERNAME === undefined || c.KAFKA_SASL_PASSWORD === undefined)) {
    problems.push(`KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  }
  if (c.KAFKA_SASL_MECHANISM === 'plain' && !c.KAFKA_SSL && c.NODE_ENV === 'production') {
    problems.push('KAFKA_SASL_MECHANISM=plain sends the password in clear: set KAFKA_SSL=true');
  }
  if (c.KAFKA_SSL_CA_FILE !== undefined && !c.KAFKA_SSL) problems.push('KAFKA_SSL_CA_FILE is set but KAFKA_SSL is not true');
  return problems;
}

function redact(key: string, value: string | undefined): string | undefined {
  if (value === undefined || !SENSITIVE_KEYS.has(key as keyof Config)) return value;
  // Only connection URLs keep their shape (host, database) with the password masked; a secret is masked whole.
  if (key !== 'DATABASE_URL' && key !== 'REDIS_URL') return '***';
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}

/** The configuration with secrets masked, for the start-up log line. */
export function describeConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? redact(k, v) : v]),
  );
}

let loaded: Config | undefined;

/** The process's configuration, read from `process.env` the first time it is asked for. */
export function loadConfig(): Config {
  loaded ??= parseConfig(process.env);
  return loaded;
}

export function portOf(config: Config, app: AppName): number {
  switch (app) {
    case 'gateway':
      return config.GATEWAY_PORT;
    case 'market-data':
      return config.MARKET_DATA_PORT;
    case 'matching-engine':
      return config.MATCHING_ENGINE_PORT;
    case 'dispatcher':
      return config.DISPATCHER_PORT;
    case 'billing':
      return config.BILLING_PORT;
  }
}
