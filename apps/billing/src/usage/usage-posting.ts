import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Topic, type UsageMetered } from '#contracts';
import { usageAmounts, usageTransaction, type Consumed } from '#ledger';
import { AppSchema } from '#persistence';
import { postTransactions, type PostOutcome } from '../journal/journal.writer.js';

const B = AppSchema.Billing;

export interface AllocationPrices {
  readonly allocation_id: string;
  readonly job_id: string;
  readonly customer_id: string;
  readonly provider_id: string;
  readonly instrument: string;
  readonly compute_nano_usd: string;
  readonly energy_nano_usd: string;
}

export function consumedOf(u: UsageMetered): Consumed {
  if (u.instrument.startsWith('gpu:')) return { kind: 'gpu-seconds', seconds: BigInt(u.gpuSeconds ?? '0') };
  return { kind: 'tokens', tokens: BigInt(u.inputTokens ?? '0') + BigInt(u.outputTokens ?? '0') };
}

/** Why a usage event cannot belong to its allocation, or undefined when it does. */
export function mismatch(u: UsageMetered, a: AllocationPrices): string | undefined {
  if (u.customerId !== a.customer_id) return `usage ${u.usageId} names customer ${u.customerId}, its allocation ${a.allocation_id} belongs to ${a.customer_id}`;
  if (u.providerId !== a.provider_id) return `usage ${u.usageId} names provider ${u.providerId}, its allocation ran on ${a.provider_id}`;
  if (u.jobId !== a.job_id) return `usage ${u.usageId} names job ${u.jobId}, its allocation is for ${a.job_id}`;
  if (u.instrument !== a.instrument) return `usage ${u.usageId} is for ${u.instrument}, its allocation for ${a.instrument}`;
  return undefined;
}

/**
 * Serialises the allocation and usage consumers on each allocation id until commit: without it, a
 * usage event parked while its allocation commits in a concurrent transaction would be missed by
 * both and wait forever. Ids are locked in sorted order, so two batches never deadlock.
 */
export async function lockAllocations(manager: EntityManager, allocationIds: readonly string[]): Promise<void> {
  const sorted = [...new Set(allocationIds)].sort();
  if (sorted.length === 0) return;
  await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('billing.allocation:' || id, 0)) FROM unnest($1::text[]) AS id`, [sorted]);
}

/**
 * What a usage event says, whatever order its fields come in: parked usage comes back from a jsonb
 * column, which keeps keys in an order of its own, and an exact redelivery must hash the same.
 * The event is flat, so sorting its own keys is the whole canonical form.
 */
export const payloadHash = (u: UsageMetered): string => createHash('sha256').update(JSON.stringify(u, Object.keys(u).sort())).digest('hex');

/**
 * Posts usage events at their allocations' unit prices, a batch at a time, and captures what
 * each charged on its hold while that is open: the allocation's own hold, or the job's pre-trade
 * hold (a job has one or the other). Late usage after the hold resolved is still charged (see
 * docs/decisions/0008-ledger.md). Outcomes in input order.
 */
export async function postUsages(
  manager: EntityManager,
  items: readonly { readonly usage: UsageMetered; readonly allocation: AllocationPrices }[],
  feeBps: number,
): Promise<PostOutcome[]> {
  const charges = items.map(({ usage: u, allocation: a }) => ({
    usageId: u.usageId,
    allocationId: u.allocationId,
    jobId: u.jobId,
    customerId: u.customerId,
    providerId: u.providerId,
    consumed: consumedOf(u),
    computeNanoUsd: BigInt(a.compute_nano_usd),
    energyNanoUsd: BigInt(a.energy_nano_usd),
    feeBps,
  }));
  const outcomes = await postTransactions(manager, charges.map(usageTransaction), Topic.UsageMetered);
  const capture = new Map<string, bigint>();
  outcomes.forEach((o, i) => {
    if (o.kind !== 'posted') return;
    const c = charges[i] as (typeof charges)[number];
    const { compute, energy, fee } = usageAmounts(c);
    for (const holdId of [c.allocationId, c.jobId]) capture.set(holdId, (capture.get(holdId) ?? 0n) + compute + energy + fee);
  });
  if (capture.size > 0) {
    // Capturing moves each customer's held amount (a row trigger on holds). The UPDATE visits
    // holds in no particular order, so the customers' accounts are locked first, in order:
    // concurrent postings then queue on them instead of deadlocking.
    const customers = [...new Set(charges.filter((_, i) => outcomes[i]?.kind === 'posted').map((c) => `customer:${c.customerId}`))].sort();
    await manager.query(`SELECT 1 FROM "${B}".accounts WHERE account_id = ANY($1) ORDER BY account_id FOR NO KEY UPDATE`, [customers]);
    await manager.query(
      `UPDATE "${B}".holds h SET captured = h.captured + x.amount
         FROM json_to_recordset($1::json) AS x(hold_id text, amount bigint)
        WHERE h.hold_id = x.hold_id AND h.status = 'open'`,
      [JSON.stringify([...capture].map(([hold_id, amount]) => ({ hold_id, amount: amount.toString() })))],
    );
  }
  return outcomes;
}
