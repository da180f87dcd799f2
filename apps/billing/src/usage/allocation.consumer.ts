import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic, type UsageMetered } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';
import { parseQuantityMicro } from '#pricing';
import { CONFIG, type Config } from '#runtime';
import { lockAllocations, mismatch, postUsages, type AllocationPrices } from './usage-posting.js';

const B = AppSchema.Billing;

/**
 * Allocations: their unit prices are kept (usage is charged at them), and a hold reserves what
 * each may cost (amount + fee) on the customer's available balance until its usage is posted and
 * the job ends. Usage that arrived first is posted now. One transaction with the inbox row.
 */
@Controller()
export class AllocationConsumer {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  @KafkaHandler(Topic.Allocations)
  async handle(@Payload() batch: InboundBatch<typeof Topic.Allocations>): Promise<void> {
    const { manager } = batch;
    const rows = batch.messages.map((m) => m.payload);
    await lockAllocations(manager, rows.map((a) => a.allocationId));
    const fresh: AllocationPrices[] = await manager.query(
      `INSERT INTO "${B}".allocations (allocation_id, job_id, customer_id, provider_id, offer_id, instrument, quantity_micro,
              compute_nano_usd, energy_nano_usd, effective_nano_usd, amount_nano_usd, fee_nano_usd, matched_at)
       SELECT * FROM json_to_recordset($1::json) AS x(allocation_id text, job_id uuid, customer_id text, provider_id text, offer_id text,
              instrument text, quantity_micro bigint, compute_nano_usd bigint, energy_nano_usd bigint, effective_nano_usd bigint,
              amount_nano_usd bigint, fee_nano_usd bigint, matched_at timestamptz)
       ON CONFLICT (allocation_id) DO NOTHING
       RETURNING allocation_id, job_id, customer_id, provider_id, instrument, compute_nano_usd, energy_nano_usd`,
      [
        JSON.stringify(
          rows.map((a) => ({
            allocation_id: a.allocationId,
            job_id: a.jobId,
            customer_id: a.customerId,
            provider_id: a.providerId,
            offer_id: a.offerId,
            instrument: a.instrument,
            quantity_micro: parseQuantityMicro(a.quantity).toString(),
            compute_nano_usd: a.computeNanoUsd,
            energy_nano_usd: a.energyNanoUsd,
            effective_nano_usd: a.effectiveNanoUsd,
            amount_nano_usd: a.amountNanoUsd,
            fee_nano_usd: a.feeNanoUsd,
            matched_at: a.matchedAt,
          })),
        ),
      ],
    );
    if (fresh.length === 0) return;
    const byId = new Map(rows.map((a) => [a.allocationId, a]));
    // A job accepted through the gateway already holds its worst case (hold id = job id); an
    // allocation of any other job gets a hold of its own. In customer order: each new hold moves
    // its customer's account (a row trigger), and concurrent batches must take those rows in one
    // order or they can deadlock (seen in bench:ledger).
    await manager.query(
      `INSERT INTO "${B}".holds (hold_id, customer_id, job_id, allocation_id, amount, status)
       SELECT x.* FROM json_to_recordset($1::json) AS x(hold_id text, customer_id text, job_id text, allocation_id text, amount bigint, status text)
        WHERE NOT EXISTS (SELECT 1 FROM "${B}".holds h WHERE h.hold_id = x.job_id)
        ORDER BY x.customer_id, x.hold_id
       ON CONFLICT (hold_id) DO NOTHING`,
      [
        JSON.stringify(
          fresh.map((f) => {
            const a = byId.get(f.allocation_id);
            const amount = a === undefined ? 0n : BigInt(a.amountNanoUsd) + BigInt(a.feeNanoUsd);
            return { hold_id: f.allocation_id, customer_id: f.customer_id, job_id: f.job_id, allocation_id: f.allocation_id, amount: (amount < 0n ? 0n : amount).toString(), status: 'open' };
          }),
        ),
      ],
    );
    // A DELETE through TypeORM answers [rows, count].
    const [pending]: [{ usage_id: string; payload: UsageMetered }[], number] = await manager.query(
      `DELETE FROM "${B}".pending_usage WHERE allocation_id = ANY($1) RETURNING usage_id, payload`,
      [fresh.map((f) => f.allocation_id)],
    );
    const prices = new Map(fresh.map((f) => [f.allocation_id, f]));
    const ready: { usage: UsageMetered; allocation: AllocationPrices }[] = [];
    for (const p of pending) {
      const a = prices.get(p.payload.allocationId) as AllocationPrices;
      // Parked usage that does not belong to its allocation stays out of the journal, for review.
      if (mismatch(p.payload, a) !== undefined) {
        await manager.query(
          `INSERT INTO "${B}".posting_conflicts (idempotency_key, request_hash, existing_hash, source, payload) VALUES ($1, '', '', 'pending-usage', $2)`,
          [`usage:${p.usage_id}`, JSON.stringify(p.payload)],
        );
        continue;
      }
      ready.push({ usage: p.payload, allocation: a });
    }
    await postUsages(manager, ready, this.config.PLATFORM_FEE_BPS);
  }
}
