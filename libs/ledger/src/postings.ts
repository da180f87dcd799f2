import { divideHalfEven, feeNanoUsd } from '#pricing';
import { Accounts, assertBalanced, USD, type LedgerTransaction, type Line } from './journal.js';

/** What was consumed, in the instrument's metering unit. */
export type Consumed =
  /** `model:` instruments are priced per million tokens. */
  | { readonly kind: 'tokens'; readonly tokens: bigint }
  /** `gpu:` instruments are priced per GPU-hour and metered per second. */
  | { readonly kind: 'gpu-seconds'; readonly seconds: bigint };

/** A usage event with the prices of the allocation it ran under. */
export interface UsageCharge {
  readonly usageId: string;
  readonly allocationId: string;
  readonly jobId: string;
  readonly customerId: string;
  readonly providerId: string;
  readonly consumed: Consumed;
  /** Unit prices of the allocation, nano-USD per unit (per GPU-hour, per million tokens). */
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly feeBps: number;
}

/** Units priced per metered quantity: tokens per million, seconds per hour. */
function per(consumed: Consumed): { quantity: bigint; perUnit: bigint } {
  return consumed.kind === 'tokens' ? { quantity: consumed.tokens, perUnit: 1_000_000n } : { quantity: consumed.seconds, perUnit: 3_600n };
}

/** What a usage event is charged, in nano-USD. */
export interface UsageAmounts {
  readonly compute: bigint;
  readonly energy: bigint;
  readonly fee: bigint;
}

/** What a usage posting is traced to. */
export type UsageRefs = Pick<UsageCharge, 'usageId' | 'allocationId' | 'jobId' | 'customerId' | 'providerId'>;

/** The amounts a usage event comes to, each rounded half-even once, in nano-USD. */
export function usageAmounts(c: UsageCharge): UsageAmounts {
  const { quantity, perUnit } = per(c.consumed);
  if (quantity < 0n) throw new RangeError(`usage ${c.usageId} has a negative quantity`);
  const compute = divideHalfEven(quantity * c.computeNanoUsd, perUnit);
  const energy = divideHalfEven(quantity * c.energyNanoUsd, perUnit);
  // The fee is on what the customer pays for the capacity (nothing on a credit): the same rule
  // as the allocation's fee.
  return { compute, energy, fee: feeNanoUsd(compute + energy, c.feeBps) };
}

/**
 * A usage event as a journal transaction: the customer is debited compute, energy and the fee
 * (three lines); the provider is credited compute and energy (two lines); the platform is
 * credited the fee. Energy can be negative (a negative tariff pays for consumption): the lines
 * carry the sign, and the transaction still sums to zero. Keyed by the usage id.
 */
export function usageTransaction(c: UsageCharge): LedgerTransaction {
  return usagePosting(c, usageAmounts(c));
}

/** A usage event's transaction from what the usage sub-ledger keeps of it: its references and amounts. */
export function usagePosting(r: UsageRefs, a: UsageAmounts): LedgerTransaction {
  const tx: LedgerTransaction = {
    key: `usage:${r.usageId}`,
    kind: 'usage',
    refs: { usageId: r.usageId, allocationId: r.allocationId, jobId: r.jobId, customerId: r.customerId, providerId: r.providerId },
    lines: usageLines(r, a.compute, a.energy, a.fee),
  };
  assertBalanced(tx);
  return tx;
}

/**
 * The six lines of a usage posting, without the zero ones. Usage that comes to nothing (too short
 * to round to a nano-dollar) keeps its two compute lines at zero: it is still posted, once, and
 * a journal transaction has entries.
 */
function usageLines(c: Pick<UsageCharge, 'customerId' | 'providerId'>, compute: bigint, energy: bigint, fee: bigint): Line[] {
  const customer = Accounts.customer(c.customerId);
  const provider = Accounts.provider(c.providerId);
  const all: Line[] = [
    { account: customer, asset: USD, amount: compute, kind: 'compute' },
    { account: customer, asset: USD, amount: energy, kind: 'energy' },
    { account: customer, asset: USD, amount: fee, kind: 'fee' },
    { account: provider, asset: USD, amount: -compute, kind: 'compute' },
    { account: provider, asset: USD, amount: -energy, kind: 'energy' },
    { account: Accounts.fees, asset: USD, amount: -fee, kind: 'fee' },
  ];
  const charged = all.filter((l) => l.amount !== 0n);
  return charged.length > 0 ? charged : all.filter((l) => l.kind === 'compute');
}

/**
 * Usage events of one allocation posted as one transaction (docs/decisions/0008-ledger.md, "A
 * usage sub-ledger"). Each event is priced and rounded on its own, exactly as `usageTransaction`
 * would post it alone, and each line is the sum of the events' lines of its account and kind: the
 * journal holds the same money per account, kind, job and allocation as one transaction per event
 * would, and each event's own amounts are kept beside it (`usage_postings`). A single event gives
 * exactly `usageTransaction`'s transaction; a group is keyed by its first event and how many follow.
 * `amounts` are the events' `usageAmounts`, when the caller has them already.
 */
export function usageBatchTransaction(charges: readonly UsageCharge[], amounts: readonly UsageAmounts[] = charges.map(usageAmounts)): LedgerTransaction {
  const first = charges[0];
  if (first === undefined) throw new RangeError('a usage batch has at least one event');
  if (charges.length === 1) return usagePosting(first, amounts[0] ?? usageAmounts(first));
  let compute = 0n;
  let energy = 0n;
  let fee = 0n;
  charges.forEach((c, i) => {
    if (c.allocationId !== first.allocationId || c.jobId !== first.jobId || c.customerId !== first.customerId || c.providerId !== first.providerId) {
      throw new RangeError(`usage ${c.usageId} is not of allocation ${first.allocationId} (job, customer and provider as its first event)`);
    }
    const a = amounts[i] ?? usageAmounts(c);
    compute += a.compute;
    energy += a.energy;
    fee += a.fee;
  });
  return {
    key: `usage:${first.usageId}+${charges.length - 1}`,
    kind: 'usage',
    refs: { allocationId: first.allocationId, jobId: first.jobId, customerId: first.customerId, providerId: first.providerId },
    lines: usageLines(first, compute, energy, fee),
  };
}

/** Money a customer paid in (credited to them, from funding). */
export function topUpTransaction(key: string, customerId: string, amountNanoUsd: bigint): LedgerTransaction {
  if (amountNanoUsd <= 0n) throw new RangeError('a top-up is a positive amount');
  return {
    key: `top-up:${key}`,
    kind: 'top-up',
    refs: { customerId },
    lines: [
      { account: Accounts.funding, asset: USD, amount: amountNanoUsd, kind: 'top-up' },
      { account: Accounts.customer(customerId), asset: USD, amount: -amountNanoUsd, kind: 'top-up' },
    ],
  };
}

/** Credit granted to a customer, paid for by the platform. */
export function grantTransaction(key: string, customerId: string, amountNanoUsd: bigint): LedgerTransaction {
  if (amountNanoUsd <= 0n) throw new RangeError('a grant is a positive amount');
  return {
    key: `grant:${key}`,
    kind: 'grant',
    refs: { customerId },
    lines: [
      { account: Accounts.grants, asset: USD, amount: amountNanoUsd, kind: 'grant' },
      { account: Accounts.customer(customerId), asset: USD, amount: -amountNanoUsd, kind: 'grant' },
    ],
  };
}
