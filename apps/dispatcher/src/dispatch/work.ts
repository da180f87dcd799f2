/**
 * How a job's work is shared among its allocations, as pure functions of quantities (micro-units
 * of the instrument) and request counts, so the rules can be tested on their own.
 */

/**
 * How many requests from the pool an allocation of `quantityMicro` takes, when `pendingMicro` is
 * what matching may still allocate to the job: its share, rounded down; the allocation that
 * covers everything pending takes all that is left.
 */
export function requestsFor(poolSize: number, pendingMicro: bigint, quantityMicro: bigint): number {
  if (poolSize <= 0) return 0;
  if (pendingMicro <= 0n || quantityMicro >= pendingMicro) return poolSize;
  return Number((BigInt(poolSize) * quantityMicro) / pendingMicro);
}

/**
 * The quantity not done of an allocation that stopped early: its share of `unfinished` out of
 * `total` pieces (requests, or GPU-seconds), rounded up, so work never left undone is never lost
 * to rounding. An allocation with no pieces leaves nothing.
 */
export function remainderOf(quantityMicro: bigint, unfinished: bigint, total: bigint): bigint {
  if (total <= 0n || unfinished <= 0n) return 0n;
  if (unfinished >= total) return quantityMicro;
  return (quantityMicro * unfinished + total - 1n) / total;
}

/** GPU-seconds in a quantity of GPU-hours (micro-units), rounded down. */
export function gpuSecondsOf(quantityMicro: bigint): bigint {
  return (quantityMicro * 3_600n) / 1_000_000n;
}

/** The usage id of one piece of an allocation's work: the same piece always meters under the same id. */
export const usageIdOf = (allocationId: string, requestIndex: number | 'gpu'): string => `${allocationId}:${requestIndex}`;

/** The step number of a matching engine's event id (`<jobId>.<n>`), or undefined for another producer's. */
export function matchingStepOf(eventId: string, jobId: string): number | undefined {
  if (!eventId.startsWith(`${jobId}.`)) return undefined;
  const n = Number(eventId.slice(jobId.length + 1));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
