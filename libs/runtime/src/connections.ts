import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { Backoff, sleep } from '#messaging';
import type { Config } from '#platform';

/**
 * Connects the DataSource, waiting out a database that is still starting: services may come up
 * before PostgreSQL does (compose, a host reboot). Bounded, so a wrong URL still fails start-up.
 */
export async function initializeDataSource(dataSource: DataSource, logger: Logger, attempts = 30): Promise<DataSource> {
  const backoff = new Backoff(200, 2_000);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await dataSource.initialize();
    } catch (error) {
      if (attempt >= attempts) throw error;
      logger.warn({ err: error, attempt }, 'PostgreSQL not reachable yet; retrying');
      await sleep(backoff.next());
    }
  }
}

/** The shared Redis connection (BullMQ needs `maxRetriesPerRequest: null`: it blocks on purpose). */
export function createRedis(config: Config, name: string): Redis {
  return new Redis(config.REDIS_URL, {
    connectionName: `spotgrid:${name}`,
    maxRetriesPerRequest: null,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(100 * 2 ** times, config.RETRY_MAX_BACKOFF_MS),
  });
}

/** BullMQ connection options from REDIS_URL (BullMQ opens its own connections: workers block). */
export function bullConnectionOf(config: Config): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: object;
  maxRetriesPerRequest: null;
} {
  const url = new URL(config.REDIS_URL);
  const db = Number(url.pathname.replace('/', '') || '0');
  return {
    host: url.hostname,
    port: Number(url.port || '6379'),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    db: Number.isInteger(db) ? db : 0,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
