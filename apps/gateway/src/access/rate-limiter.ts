import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, REDIS, type Config, type RateLimiter, type Redis } from '#runtime';

/**
 * Requests per key per second, counted in Redis so the limit holds across every gateway process:
 * one counter per key and second (INCR, expiring after the window), one round trip per request.
 * A fixed window lets a burst of up to twice the limit straddle a second's edge; at a per-second
 * window that is bounded and cheap, where a sliding log would cost a sorted set per key.
 */
@Injectable()
export class RedisRateLimiter implements RateLimiter {
  private readonly limit: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.limit = config.RATE_LIMIT_PER_SECOND;
  }

  async take(keyId: string) {
    const second = Math.floor(Date.now() / 1_000);
    const key = `${this.config.QUEUE_PREFIX}:rate:${keyId}:${second}`;
    const results = await this.redis.multi().incr(key).expire(key, 2).exec();
    const used = Number(results?.[0]?.[1] ?? 0);
    return { allowed: used <= this.limit, limit: this.limit, remaining: Math.max(0, this.limit - used), retryAfterSeconds: 1 };
  }

  async refused(address: string): Promise<boolean> {
    const key = `${this.config.QUEUE_PREFIX}:refused:${address}:${Math.floor(Date.now() / 1_000)}`;
    const results = await this.redis.multi().incr(key).expire(key, 2).exec();
    return Number(results?.[0]?.[1] ?? 0) > this.config.AUTH_FAILURES_PER_SECOND;
  }
}
