import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Topic, type UsageMetered } from '#contracts';
import { usageAmounts, usageBatchTransaction, usageTransaction, type Consumed, type LedgerTransaction, type UsageCharge } from '#ledger';
import { AppSchema } from '#persistence';
import { postTransactions, transactionHash, type PostOutcome } from '../journal/journal.writer.js';

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
 *
 * The usage sub-ledger (same record, "A usage sub-ledger"): the new events of one allocation go
 * into one journal transaction, and each into `usage_postings` beside it with its own amounts. An
 * event already there is a duplicate when its posting hashes the same, else a conflict recorded
 * for review; of two copies in one batch the first is posted and the second judged against it.
 * Callers hold the batch's allocation locks (`lockAllocations`), so no other batch posts these
 * events meanwhile.
 */
export async function postUsages(
  manager: EntityManager,
  items: readonly { readonly usage: UsageMetered; readonly allocation: AllocationPrices }[],
  feeBps: number,
): Promise<PostOutcome[]> {
  if (items.length === 0) return [];
  const charges: UsageCharge[] = items.map(({ usage: u, allocation: a }) => ({
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
  // Each event's posting as if alone: what its hash covers, as when each was its own transaction.
  const alone = charges.map(usageTransaction);
  const hashes = alone.map(transactionHash);
  const earlier = new Map<string, { tx_id: string; request_hash: string }>();
  const found: { usage_id: string; tx_id: string; request_hash: string }[] = await manager.query(
    `SELECT usage_id, tx_id, request_hash FROM "${B}".usage_postings WHERE usage_id = ANY($1)`,
    [[...new Set(charges.map((c) => c.usageId))]],
  );
  for (const r of found) earlier.set(r.usage_id, r);

  // New events, first copies only, grouped by allocation in input order.
  const firstOf = new Map<string, number>();
  const groups = new Map<string, number[]>();
  charges.forEach((c, i) => {
    if (earlier.has(c.usageId) || firstOf.has(c.usageId)) return;
    firstOf.set(c.usageId, i);
    const group = groups.get(c.allocationId);
    if (group === undefined) groups.set(c.allocationId, [i]);
    else group.push(i);
  });
  const batches = [...groups.values()];
  const txs = batches.map((g) => usageBatchTransaction(g.map((i) => charges[i] as UsageCharge)));
  const posted = await postTransactions(manager, txs, Topic.UsageMetered);
  const txOf = new Map<string, string>();
  batches.forEach((g, b) => {
    const outcome = posted[b] as PostOutcome;
    // A batch's key is its first event's, which no earlier posting has: anything else is a fault.
    if (outcome.kind !== 'posted') throw new Error(`usage batch ${txs[b]?.key} was already in the journal`);
    for (const i of g) txOf.set((charges[i] as UsageCharge).usageId, outcome.txId);
  });
  if (txOf.size > 0) {
    await manager.query(
      `INSERT INTO "${B}".usage_postings (usage_id, tx_id, request_hash, compute_nano_usd, energy_nano_usd, fee_nano_usd)
       SELECT * FROM json_to_recordset($1::json) AS x(usage_id text, tx_id bigint, request_hash text, compute_nano_usd bigint, energy_nano_usd bigint, fee_nano_usd bigint)`,
      [
        JSON.stringify(
          [...firstOf.values()].map((i) => {
            const c = charges[i] as UsageCharge;
            const { compute, energy, fee } = usageAmounts(c);
            return { usage_id: c.usageId, tx_id: txOf.get(c.usageId), request_hash: hashes[i], compute_nano_usd: compute.toString(), energy_nano_usd: energy.toString(), fee_nano_usd: fee.toString() };
          }),
        ),
      ],
    );
  }

  const outcomes: PostOutcome[] = [];
  const conflicts: { key: string; hash: string; existing: string; payload: string }[] = [];
  const capture = new Map<string, bigint>();
  const customers = new Set<string>();
  charges.forEach((c, i) => {
    const hash = hashes[i] as string;
    const first = firstOf.get(c.usageId);
    if (first === i) {
      outcomes.push({ kind: 'posted', txId: txOf.get(c.usageId) as string });
      const { compute, energy, fee } = usageAmounts(c);
      for (const holdId of [c.allocationId, c.jobId]) capture.set(holdId, (capture.get(holdId) ?? 0n) + compute + energy + fee);
      customers.add(`customer:${c.customerId}`);
      return;
    }
    const before = earlier.get(c.usageId);
    const existing = before !== undefined ? { hash: before.request_hash, txId: before.tx_id } : { hash: hashes[first as number] as string, txId: txOf.get(c.usageId) as string };
    if (existing.hash === hash) {
      outcomes.push({ kind: 'duplicate', txId: existing.txId });
      return;
    }
    const tx = alone[i] as LedgerTransaction;
    conflicts.push({ key: tx.key, hash, existing: existing.hash, payload: JSON.stringify({ ...tx, lines: tx.lines.map((l) => ({ ...l, amount: l.amount.toString() })) }) });
    outcomes.push({ kind: 'conflict' });
  });
  if (conflicts.length > 0) {
    await manager.query(
      `INSERT INTO "${B}".posting_conflicts (idempotency_key, request_hash, existing_hash, source, payload)
       SELECT key, hash, existing, $2, payload::jsonb FROM json_to_recordset($1::json) AS x(key text, hash text, existing text, payload text)`,
      [JSON.stringify(conflicts), Topic.UsageMetered],
    );
  }
  if (capture.size > 0) {
    // Capturing moves each customer's held amount (a row trigger on holds). The UPDATE visits
    // holds in no particular order, so the customers' accounts are locked first, in order:
    // concurrent postings then queue on them instead of deadlocking.
    await manager.query(`SELECT 1 FROM "${B}".accounts WHERE account_id = ANY($1) ORDER BY account_id FOR NO KEY UPDATE`, [[...customers].sort()]);
    await manager.query(
      `UPDATE "${B}".holds h SET captured = h.captured + x.amount
         FROM json_to_recordset($1::json) AS x(hold_id text, amount bigint)
        WHERE h.hold_id = x.hold_id AND h.status = 'open'`,
      [JSON.stringify([...capture].map(([hold_id, amount]) => ({ hold_id, amount: amount.toString() })))],
    );
  }
  return outcomes;
}
