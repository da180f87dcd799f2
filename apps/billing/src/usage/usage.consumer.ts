import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Counter } from 'prom-client';
import { Topic, type UsageMetered } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';
import { registry } from '#platform';
import { CONFIG, type Config } from '#runtime';
import { lockAllocations, mismatch, payloadHash, postUsages, type AllocationPrices } from './usage-posting.js';

const B = AppSchema.Billing;

const outcomes = new Counter({
  name: 'spotgrid_billing_usage_total',
  help: 'Usage events by outcome (posted, duplicate, conflict, pending: waiting for its allocation)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/**
 * Usage into the journal, in the transport's transaction (dedupe, postings, balances, holds: one
 * commit, then offset + 1). The journal's idempotency key makes a replay a no-op and records the
 * same usage id with another body as a conflict. Usage whose allocation has not arrived waits in
 * `pending_usage` and is posted by the allocation consumer.
 */
@Controller()
export class UsageConsumer {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  @KafkaHandler(Topic.UsageMetered)
  async handle(@Payload() batch: InboundBatch<typeof Topic.UsageMetered>): Promise<void> {
    const { manager } = batch;
    const ids = [...new Set(batch.messages.map((m) => m.payload.allocationId))];
    await lockAllocations(manager, ids);
    const rows: AllocationPrices[] = await manager.query(
      `SELECT allocation_id, job_id, customer_id, provider_id, instrument, compute_nano_usd, energy_nano_usd
         FROM "${B}".allocations WHERE allocation_id = ANY($1)`,
      [ids],
    );
    const allocations = new Map(rows.map((r) => [r.allocation_id, r]));
    const ready: { usage: UsageMetered; allocation: AllocationPrices }[] = [];
    const waiting: UsageMetered[] = [];
    for (const m of batch.messages) {
      const u = m.payload;
      const a = allocations.get(u.allocationId);
      if (a === undefined) {
        waiting.push(u);
        continue;
      }
      const wrong = mismatch(u, a);
      if (wrong !== undefined) {
        batch.reject(m, 'rejected', wrong);
        continue;
      }
      ready.push({ usage: u, allocation: a });
    }
    await this.park(batch, waiting);
    for (const outcome of await postUsages(manager, ready, this.config.PLATFORM_FEE_BPS)) outcomes.inc({ outcome: outcome.kind });
  }

  /**
   * Usage ahead of its allocation, parked in one statement (one per event was most of a posting's
   * round trips when a backlog met allocations still in flight). In input order: of two copies
   * in one batch, the first is parked and the second judged against it, as a later batch would be.
   */
  private async park(batch: InboundBatch<typeof Topic.UsageMetered>, waiting: readonly UsageMetered[]): Promise<void> {
    if (waiting.length === 0) return;
    const parked: { usage_id: string }[] = await batch.manager.query(
      `INSERT INTO "${B}".pending_usage (usage_id, allocation_id, payload)
       SELECT x.usage_id, x.allocation_id, x.payload
         FROM ROWS FROM (json_to_recordset($1::json) AS (usage_id text, allocation_id text, payload jsonb)) WITH ORDINALITY AS x(usage_id, allocation_id, payload, n)
        ORDER BY x.n
       ON CONFLICT (usage_id) DO NOTHING RETURNING usage_id`,
      [JSON.stringify(waiting.map((u) => ({ usage_id: u.usageId, allocation_id: u.allocationId, payload: u })))],
    );
    const fresh = new Set(parked.map((r) => r.usage_id));
    for (const u of waiting) {
      if (!fresh.delete(u.usageId)) await this.checkPendingTwin(batch, u);
      outcomes.inc({ outcome: 'pending' });
    }
  }

  /** A second copy of parked usage: the same body is a duplicate; another body, a conflict. */
  private async checkPendingTwin(batch: InboundBatch<typeof Topic.UsageMetered>, u: UsageMetered): Promise<void> {
    const [existing]: { payload: typeof u }[] = await batch.manager.query(`SELECT payload FROM "${B}".pending_usage WHERE usage_id = $1`, [u.usageId]);
    if (existing === undefined || payloadHash(existing.payload) === payloadHash(u)) return;
    await batch.manager.query(
      `INSERT INTO "${B}".posting_conflicts (idempotency_key, request_hash, existing_hash, source, payload) VALUES ($1, $2, $3, $4, $5)`,
      [`usage:${u.usageId}`, payloadHash(u), payloadHash(existing.payload), Topic.UsageMetered, JSON.stringify(u)],
    );
  }
}
