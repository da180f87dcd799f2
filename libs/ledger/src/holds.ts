/**
 * Holds: the worst case of an allocation, reserved on the customer's available balance until
 * its usage is posted. A hold resolves exactly once: settled (by usage), voided (the work was
 * cancelled), or expired (no usage came within its life).
 */
export type HoldStatus = 'open' | 'settled' | 'voided' | 'expired';

export interface Hold {
  readonly holdId: string;
  readonly customerId: string;
  readonly amountNanoUsd: bigint;
  readonly status: HoldStatus;
  readonly placedAt: number;
  /** Usage posted against it (may exceed the hold: see `settle`). */
  readonly capturedNanoUsd: bigint;
}

export class HoldResolvedError extends Error {
  constructor(holdId: string, status: HoldStatus) {
    super(`hold ${holdId} is already ${status}`);
    this.name = 'HoldResolvedError';
  }
}

/** How long an open hold lives without usage before it expires (usage may come up to 35 days late). */
export const HOLD_LIFETIME_MS = 36 * 86_400_000;

/**
 * Posts the actual usage against a hold and resolves it. The policy for usage beyond the hold:
 * the actual is charged in full (the customer used it, at prices they accepted), the excess is
 * reported, and the customer's balance may go below zero within its credit limit; a balance
 * that falls below −credit limit blocks new jobs (the pre-trade check) until a top-up.
 */
export function settle(hold: Hold, actualNanoUsd: bigint): { hold: Hold; released: bigint; excess: bigint } {
  if (hold.status !== 'open') throw new HoldResolvedError(hold.holdId, hold.status);
  const released = actualNanoUsd < hold.amountNanoUsd ? hold.amountNanoUsd - actualNanoUsd : 0n;
  const excess = actualNanoUsd > hold.amountNanoUsd ? actualNanoUsd - hold.amountNanoUsd : 0n;
  return { hold: { ...hold, status: 'settled', capturedNanoUsd: actualNanoUsd }, released, excess };
}

export function voidHold(hold: Hold): Hold {
  if (hold.status !== 'open') throw new HoldResolvedError(hold.holdId, hold.status);
  return { ...hold, status: 'voided' };
}

/** Open holds older than their lifetime, expired; the others unchanged. */
export function expireStale(holds: readonly Hold[], now: number, lifetimeMs = HOLD_LIFETIME_MS): Hold[] {
  return holds.map((h) => (h.status === 'open' && now - h.placedAt >= lifetimeMs ? { ...h, status: 'expired' } : h));
}

/** balance + credit limit − open holds: what a new job's worst case must fit in. */
export function availableBalance(balanceNanoUsd: bigint, creditLimitNanoUsd: bigint, holds: readonly Hold[]): bigint {
  let held = 0n;
  for (const h of holds) if (h.status === 'open') held += h.amountNanoUsd;
  return balanceNanoUsd + creditLimitNanoUsd - held;
}
