import type { UsageMetered } from '#contracts';
import type { AllocationPrices } from './usage-posting.js';

/** A usage event of `gpuSeconds` on allocation `a`, as the dispatcher would meter it (tests only). */
export function usageEvent(a: AllocationPrices, usageId: string, gpuSeconds: number): UsageMetered {
  return {
    usageId,
    allocationId: a.allocation_id,
    jobId: a.job_id,
    customerId: a.customer_id,
    providerId: a.provider_id,
    instrument: a.instrument,
    inputTokens: null,
    outputTokens: null,
    gpuSeconds: String(gpuSeconds),
    energyKwh: null,
    startedAt: '2026-11-27T09:00:00.000Z',
    endedAt: '2026-11-27T10:00:00.000Z',
  };
}
