import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Topic, type UsageMetered } from '#contracts';
import { usageAmounts, usageBatchTransaction, usagePosting, type Consumed, type UsageAmounts, type UsageCharge, type UsageRefs } from '#ledger';
import { AppSchema } from '#persistence';
import { postTransactions, recordConflicts, transactionHash, type Conflict, type PostOutcome } from '../journal/journal.writer.js';

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

/** What the usage sub-ledger keeps of a posted event, with its transaction's references. */
interface Posted extends UsageRefs, UsageAmounts {
  readonly txId: string;
}

/** Two postings of one usage id say the same: the same references and the same amounts. */
const samePosting = (a: UsageRefs & UsageAmounts, b: UsageRefs & UsageAmounts): boolean =>
  a.compute === b.compute &&
  a.energy === b.energy &&
  a.fee === b.fee &&
  a.allocationId === b.allocationId &&
  a.jobId === b.jobId &&
  a.customerId === b.customerId &&
  a.providerId === b.providerId;

/**
 * Posts usage events at their allocations' unit prices, a batch at a time, and captures what
 * each charged on its hold while that is open: the allocation's own hold, or the job's pre-trade
 * hold (a job has one or the other). Late usage after the hold resolved is still charged (see
 * docs/decisions/0008-ledger.md). Outcomes in input order.
 *
 * The usage sub-ledger (same record, "A usage sub-ledger"): the new events of one allocation go
 * into one journal transaction, and each into `usage_postings` beside it with its own amounts. An
 * event already there is a duplicate when it would post the same (references and amounts), else
 * a conflict recorded for review with the hashes of both postings; of two copies in one batch the
 * first is posted and the second judged against it. Callers hold the batch's allocation locks
 * (`lockAllocations`), so no other batch posts these events meanwhile.
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
  const amounts = charges.map(usageAmounts);
  const earlier = await postedBefore(manager, charges);

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
  const txs = batches.map((g) =>
    usageBatchTransaction(
      g.map((i) => charges[i] as UsageCharge),
      g.map((i) => amounts[i] as UsageAmounts),
    ),
  );
  const posted = await postTransactions(manager, txs, Topic.UsageMetered);
  const txOf = new Map<string, string>();
  batches.forEach((g, b) => {
    const outcome = posted[b] as PostOutcome;
    // A batch's key is its first event's, which no earlier posting has: anything else is a fault.
    if (outcome.kind !== 'posted') throw new Error(`usage batch ${txs[b]?.key} was already in the journal`);
    for (const i of g) txOf.set((charges[i] as UsageCharge).usageId, outcome.txId);
  });
  if (txOf.size > 0) {
    // Arrays, one per column: a fraction of the JSON of one object per row, to write and to parse.
    const fresh = [...firstOf.values()];
    await manager.query(
      `INSERT INTO "${B}".usage_postings (usage_id, tx_id, compute_nano_usd, energy_nano_usd, fee_nano_usd)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])`,
      [
        fresh.map((i) => (charges[i] as UsageCharge).usageId),
        fresh.map((i) => txOf.get((charges[i] as UsageCharge).usageId) as string),
        fresh.map((i) => (amounts[i] as UsageAmounts).compute.toString()),
        fresh.map((i) => (amounts[i] as UsageAmounts).energy.toString()),
        fresh.map((i) => (amounts[i] as UsageAmounts).fee.toString()),
      ],
    );
  }

  const outcomes: PostOutcome[] = [];
  const conflicts: Conflict[] = [];
  const capture = new Map<string, bigint>();
  const customers = new Set<string>();
  charges.forEach((c, i) => {
    const a = amounts[i] as UsageAmounts;
    const first = firstOf.get(c.usageId);
    if (first === i) {
      outcomes.push({ kind: 'posted', txId: txOf.get(c.usageId) as string });
      for (const holdId of [c.allocationId, c.jobId]) capture.set(holdId, (capture.get(holdId) ?? 0n) + a.compute + a.energy + a.fee);
      customers.add(`customer:${c.customerId}`);
      return;
    }
    const existing: Posted = earlier.get(c.usageId) ?? { ...(charges[first as number] as UsageCharge), ...(amounts[first as number] as UsageAmounts), txId: txOf.get(c.usageId) as string };
    if (samePosting({ ...c, ...a }, existing)) {
      outcomes.push({ kind: 'duplicate', txId: existing.txId });
      return;
    }
    const tx = usagePosting(c, a);
    conflicts.push({ tx, hash: transactionHash(tx), existing: transactionHash(usagePosting(existing, existing)) });
    outcomes.push({ kind: 'conflict' });
  });
  await recordConflicts(manager, conflicts, Topic.UsageMetered);
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

/** The events of the batch already in the sub-ledger, with what they posted. */
async function postedBefore(manager: EntityManager, charges: readonly UsageCharge[]): Promise<Map<string, Posted>> {
  const rows: {
    usage_id: string;
    tx_id: string;
    compute_nano_usd: string;
    energy_nano_usd: string;
    fee_nano_usd: string;
    allocation_id: string;
    job_id: string;
    customer_id: string;
    provider_id: string;
  }[] = await manager.query(
    `SELECT u.usage_id, u.tx_id, u.compute_nano_usd, u.energy_nano_usd, u.fee_nano_usd, t.refs->>'allocationId' AS allocation_id, t.job_id, t.customer_id, t.provider_id
       FROM "${B}".usage_postings u JOIN "${B}".transactions t USING (tx_id) WHERE u.usage_id = ANY($1)`,
    [charges.map((c) => c.usageId)],
  );
  return new Map(
    rows.map((r) => [
      r.usage_id,
      {
        usageId: r.usage_id,
        txId: r.tx_id,
        allocationId: r.allocation_id,
        jobId: r.job_id,
        customerId: r.customer_id,
        providerId: r.provider_id,
        compute: BigInt(r.compute_nano_usd),
        energy: BigInt(r.energy_nano_usd),
        fee: BigInt(r.fee_nano_usd),
      },
    ]),
  );
}
