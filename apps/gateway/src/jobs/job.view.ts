import type { Order } from '#contracts';
import { savingsOf } from '#market';
import { amountNanoUsd, formatAtomic } from '#pricing';

export interface JobRow {
  job_id: string;
  customer_id: string;
  instrument: string;
  quantity: string;
  limit_nano_usd: string;
  allow_split: boolean;
  constraints: Order['constraints'];
  earliest_start: Date;
  deadline: Date;
  latest_start: Date;
  runtime_seconds: number;
  may_defer: boolean;
  work: { type: string; requests?: unknown[]; hours?: string };
  forecast: Order['forecast'];
  hold_nano_usd: string;
  baseline_first_listed_nano_usd: string | null;
  baseline_cheapest_compute_nano_usd: string | null;
  status: string;
  reason: string | null;
  filled_quantity: string;
  deferred_until: Date | null;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  request_hash: string;
}

export interface EventRow {
  event_id: string;
  type: string;
  status: string;
  reason: string | null;
  filled_quantity: string;
  allocation_ids: string[];
  until: Date | null;
  at: Date;
}

export interface AllocationRow {
  allocation_id: string;
  provider_id: string;
  offer_id: string;
  region: string;
  grid_zone: string;
  quantity_micro: string;
  compute_nano_usd: string;
  energy_nano_usd: string;
  effective_nano_usd: string;
  amount_nano_usd: string;
  fee_nano_usd: string;
  matched_at: Date;
  run_status: string | null;
  run_reason: string | null;
  remainder_micro: string | null;
  started_at: Date | null;
  ended_at: Date | null;
}

export interface ResultRow {
  request_index: number;
  custom_id: string | null;
  allocation_id: string;
  provider_id: string;
  status: 'succeeded' | 'failed';
  status_code: number | null;
  body: unknown;
  error: string | null;
  input_tokens: string | null;
  output_tokens: string | null;
  gpu_seconds: string | null;
  energy_kwh: string | null;
  started_at: Date;
  ended_at: Date;
}

export function resultView(r: ResultRow) {
  return {
    ...(r.custom_id === null ? {} : { customId: r.custom_id, requestIndex: r.request_index }),
    status: r.status,
    allocationId: r.allocation_id,
    providerId: r.provider_id,
    ...(r.custom_id === null ? {} : { response: r.status === 'succeeded' ? { statusCode: r.status_code, body: r.body } : null }),
    error: r.error,
    usage:
      r.gpu_seconds !== null
        ? { gpuSeconds: r.gpu_seconds, energyKwh: r.energy_kwh }
        : r.status === 'succeeded'
          ? { inputTokens: r.input_tokens, outputTokens: r.output_tokens }
          : null,
    startedAt: r.started_at.toISOString(),
    endedAt: r.ended_at.toISOString(),
  };
}

/** Columns a job view reads (the work itself is summarised, not echoed: it can be 10,000 requests). */
export const JOB_COLUMNS = `job_id, customer_id, instrument, quantity::text AS quantity, limit_nano_usd, allow_split, constraints,
  earliest_start, deadline, latest_start, runtime_seconds, may_defer,
  jsonb_build_object('type', work->>'type', 'hours', work->>'hours', 'requests', jsonb_array_length(COALESCE(work->'requests', '[]'::jsonb))) AS work,
  forecast, hold_nano_usd, baseline_first_listed_nano_usd, baseline_cheapest_compute_nano_usd, status, reason, filled_quantity::text AS filled_quantity, deferred_until, cancel_requested_at,
  created_at, updated_at, request_hash`;

const usd = (nano: string): string => formatAtomic(BigInt(nano), 9);
const qty = (micro: string): string => formatAtomic(BigInt(micro), 6);

/** An allocation as far as savings go: what was matched, at what price, and what its run left undone. */
export interface RunAllocation {
  readonly quantity_micro: string;
  readonly effective_nano_usd: string;
  readonly remainder_micro: string | null;
}

/**
 * What the job's allocations delivered and cost: a run that left a remainder (sent back to
 * matching, and allocated again) counts for what it ran, so nothing is counted twice.
 */
export function deliveredOf(allocations: readonly RunAllocation[]): { filledMicro: bigint; paidNanoUsd: bigint } {
  let filledMicro = 0n;
  let paidNanoUsd = 0n;
  for (const a of allocations) {
    const ran = BigInt(a.quantity_micro) - BigInt(a.remainder_micro ?? '0');
    filledMicro += ran;
    paidNanoUsd += amountNanoUsd(ran, BigInt(a.effective_nano_usd));
  }
  return { filledMicro, paidNanoUsd };
}

/**
 * What a job paid for what was filled, against the two naive choices at its submission (the
 * first-listed eligible offer, the cheapest on compute alone): positive `saved` is money the
 * market saved the customer. Compute and energy only; the fee is the same wherever the job runs.
 */
export function savingsView(r: Pick<JobRow, 'baseline_first_listed_nano_usd' | 'baseline_cheapest_compute_nano_usd'>, allocations: readonly RunAllocation[]) {
  const { filledMicro, paidNanoUsd } = deliveredOf(allocations);
  const s = savingsOf(filledMicro, paidNanoUsd, {
    firstListedNanoUsd: r.baseline_first_listed_nano_usd === null ? undefined : BigInt(r.baseline_first_listed_nano_usd),
    cheapestIgnoringEnergyNanoUsd: r.baseline_cheapest_compute_nano_usd === null ? undefined : BigInt(r.baseline_cheapest_compute_nano_usd),
  });
  const against = (unit: string | null, cost: bigint | undefined, saved: bigint | undefined) =>
    unit === null || cost === undefined || saved === undefined
      ? null
      : { unitPriceNanoUsd: unit, costNanoUsd: cost.toString(), savedNanoUsd: saved.toString(), saved: usd(saved.toString()) };
  return {
    paidNanoUsd: s.paidNanoUsd.toString(),
    paid: usd(s.paidNanoUsd.toString()),
    firstListed: against(r.baseline_first_listed_nano_usd, s.firstListedNanoUsd, s.savedVsFirstListedNanoUsd),
    cheapestIgnoringEnergy: against(r.baseline_cheapest_compute_nano_usd, s.cheapestIgnoringEnergyNanoUsd, s.savedVsCheapestIgnoringEnergyNanoUsd),
  };
}

/** The order the matching engine takes, rebuilt from the stored job (for the queue and its retries). */
export function orderOf(r: JobRow): Order {
  return {
    jobId: r.job_id,
    customerId: r.customer_id,
    instrument: r.instrument,
    quantity: r.quantity,
    limitNanoUsd: r.limit_nano_usd,
    allowSplit: r.allow_split,
    constraints: r.constraints,
    earliestStart: r.earliest_start.toISOString(),
    latestStart: r.latest_start.toISOString(),
    deadline: r.deadline.toISOString(),
    deferrable: r.may_defer,
    forecast: r.forecast,
    submittedAt: r.created_at.toISOString(),
  };
}

export function jobView(r: JobRow, events?: readonly EventRow[], allocations?: readonly AllocationRow[]) {
  return {
    id: r.job_id,
    customerId: r.customer_id,
    status: r.status,
    reason: r.reason,
    instrument: r.instrument,
    quantity: r.quantity,
    filledQuantity: r.filled_quantity,
    limitPrice: usd(r.limit_nano_usd),
    limitNanoUsd: r.limit_nano_usd,
    allowSplit: r.allow_split,
    deferrable: r.may_defer,
    constraints: r.constraints,
    earliestStart: r.earliest_start.toISOString(),
    latestStart: r.latest_start.toISOString(),
    deadline: r.deadline.toISOString(),
    runtimeSeconds: r.runtime_seconds,
    deferredUntil: r.deferred_until?.toISOString() ?? null,
    cancelRequestedAt: r.cancel_requested_at?.toISOString() ?? null,
    work: r.work.type === 'gpu-hours' ? { type: 'gpu-hours', hours: r.work.hours } : { type: 'requests', requests: r.work.requests },
    hold: { worstCaseNanoUsd: r.hold_nano_usd, worstCase: usd(r.hold_nano_usd) },
    forecast: r.forecast,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    ...(events === undefined
      ? {}
      : {
          events: events.map((e) => ({
            id: e.event_id,
            type: e.type,
            status: e.status,
            reason: e.reason,
            filledQuantity: e.filled_quantity,
            allocationIds: e.allocation_ids,
            until: e.until?.toISOString() ?? null,
            at: e.at.toISOString(),
          })),
        }),
    ...(allocations === undefined
      ? {}
      : {
          savings: savingsView(r, allocations),
          allocations: allocations.map((a) => ({
            id: a.allocation_id,
            providerId: a.provider_id,
            offerId: a.offer_id,
            region: a.region,
            gridZone: a.grid_zone,
            quantity: qty(a.quantity_micro),
            unitPrice: { computeNanoUsd: a.compute_nano_usd, energyNanoUsd: a.energy_nano_usd, effectiveNanoUsd: a.effective_nano_usd, effective: usd(a.effective_nano_usd) },
            amountNanoUsd: a.amount_nano_usd,
            feeNanoUsd: a.fee_nano_usd,
            matchedAt: a.matched_at.toISOString(),
            run:
              a.run_status === null
                ? null
                : { status: a.run_status, reason: a.run_reason, startedAt: a.started_at?.toISOString() ?? null, endedAt: a.ended_at?.toISOString() ?? null },
          })),
        }),
  };
}
