import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Limits } from '#messaging';
import { Access } from './access/policy.js';
import { KAFKA, REDIS } from './tokens.js';
import { ConsumerHandle } from './consumer-handle.js';

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `/health`: the process is alive (no dependency is asked, so a database outage does not get the
 * process restarted). `/ready`: PostgreSQL, Redis and Kafka answer, and the consumer is running.
 */
/** Probes are public: a supervisor or load balancer holds no key. */
@Controller()
@Access.public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly consumer: ConsumerHandle,
  ) {}

  @Get('health')
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  readiness() {
    return this.health.check([() => this.postgres(), () => this.redisUp(), () => this.kafkaUp()]);
  }

  private async probe(key: string, check: () => Promise<Record<string, unknown>>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(key);
    try {
      return session.up(await check());
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  private postgres(): Promise<HealthIndicatorResult> {
    return this.probe('postgres', async () => {
      await withTimeout(this.dataSource.query('SELECT 1'), Limits.probeTimeoutMs, 'PostgreSQL');
      return {};
    });
  }

  private redisUp(): Promise<HealthIndicatorResult> {
    return this.probe('redis', async () => {
      if (this.redis.status !== 'ready') throw new Error(`connection ${this.redis.status}`);
      await withTimeout(this.redis.ping(), Limits.probeTimeoutMs, 'Redis');
      return {};
    });
  }

  private kafkaUp(): Promise<HealthIndicatorResult> {
    return this.probe('kafka', async () => {
      const admin = this.kafka.admin({ retry: { retries: 0 } });
      try {
        await withTimeout(
          admin.connect().then(() => admin.describeCluster()),
          Limits.probeTimeoutMs,
          'Kafka',
        );
      } finally {
        void admin.disconnect().catch(() => undefined);
      }
      const state = this.consumer.state;
      if (state === 'crashed' || state === 'connecting') throw new Error(`consumer ${state}`);
      return { consumer: state };
    });
  }
}
