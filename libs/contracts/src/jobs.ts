import { z } from 'zod';
import { offerAttributesSchema } from './market.js';
import { identifier, instrument, isoInstant, nonNegativeDecimalString } from './primitives.js';

/** Integer amounts on the wire (nano-USD), as strings: bigint on both sides, never a float. */
export const integerString = z.string().max(40).regex(/^-?\d+$/, 'an integer as a string');
export const nonNegativeIntegerString = z.string().max(40).regex(/^\d+$/, 'a non-negative integer as a string');

/** Job ids are UUIDs minted by the gateway. */
export const jobId = z.uuid();

/** What a job may run on. Absent lists mean "any"; an allow list and a deny list may be combined. */
export const jobConstraintsSchema = z
  .object({
    regions: z.array(identifier).min(1).max(64).optional(),
    excludeRegions: z.array(identifier).max(64).optional(),
    providers: z.array(identifier).min(1).max(64).optional(),
    excludeProviders: z.array(identifier).max(64).optional(),
    dataPolicies: z.array(offerAttributesSchema.shape.dataPolicy).min(1).max(3).optional(),
    /** false: capacity that can be preempted is refused. */
    interruptible: z.boolean().optional(),
  })
  .strict();
export type JobConstraints = z.infer<typeof jobConstraintsSchema>;

export const JOB_STATUSES = [
  'submitted',
  'queued',
  'deferred',
  'matched',
  'dispatched',
  'running',
  'completed',
  'cancelled',
  'expired',
  'failed',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'cancelled', 'expired', 'failed']);

/**
 * Event types that are not statuses: they record what happened to a part of the job and leave the
 * job's status where it was. `filled`: a partial fill. `attempt-ended`: an allocation stopped
 * before finishing its work (preempted, or failed on the provider); `requeued` follows when its
 * remainder is back in the book.
 */
export const JOB_EVENT_NOTES = ['filled', 'attempt-ended', 'requeued'] as const;
export type JobEventNote = (typeof JOB_EVENT_NOTES)[number];
export type JobEventType = JobStatus | JobEventNote;

/**
 * `jobs.events.v1`: one lifecycle step of a job. Key `jobId`. `type` says what happened; `status`
 * is the job's status after it. A partial fill is `filled` and leaves the status where it was;
 * the fill that completes the quantity is `matched`. The matching engine numbers its steps
 * `<jobId>.<n>`; the dispatcher names its own after the allocation or the job and what happened
 * (`<allocationId>:running`, `<jobId>:completed`), so every producer's ids are deterministic and
 * never collide.
 */
export const jobEventSchema = z
  .object({
    /** Deterministic per step, so a step produced twice is recognised downstream. */
    eventId: z.string().min(1).max(200),
    jobId,
    customerId: identifier,
    type: z.enum([...JOB_STATUSES, ...JOB_EVENT_NOTES]),
    status: z.enum(JOB_STATUSES),
    reason: z.string().max(500).nullable(),
    /** Units of the instrument (GPU-hours, millions of tokens). */
    quantity: nonNegativeDecimalString,
    filledQuantity: nonNegativeDecimalString,
    allocationIds: z.array(z.string().max(200)).max(1_000),
    /** Set on `deferred`: when the job becomes marketable. */
    until: isoInstant.nullable(),
    at: isoInstant,
  })
  .strict();
export type JobEvent = z.infer<typeof jobEventSchema>;

/**
 * `market.allocations.v1`: capacity of one offer given to one job. Key `jobId`. Quantities in
 * units, prices in nano-USD per unit (pay-as-ask: the offer's price when matched), amounts in
 * nano-USD: `amountNanoUsd` = quantity × effective price, `feeNanoUsd` the platform's fee on it,
 * both rounded half-even once.
 */
export const allocationSchema = z
  .object({
    allocationId: z.string().min(1).max(200),
    jobId,
    customerId: identifier,
    providerId: identifier,
    offerId: identifier,
    instrument,
    region: identifier,
    gridZone: identifier,
    quantity: nonNegativeDecimalString,
    computeNanoUsd: integerString,
    energyNanoUsd: integerString,
    effectiveNanoUsd: integerString,
    amountNanoUsd: integerString,
    feeNanoUsd: nonNegativeIntegerString,
    matchedAt: isoInstant,
  })
  .strict();
export type Allocation = z.infer<typeof allocationSchema>;

/**
 * `usage.metered.v1`: what one piece of work actually consumed on a provider. Key `customerId`.
 * `usageId` is deterministic (the dispatcher derives it from the allocation and the request), so a
 * redelivered allocation never meters twice. Tokens for `model:` instruments, GPU-seconds for
 * `gpu:` instruments; energy when the provider measured it.
 */
export const usageMeteredSchema = z
  .object({
    usageId: z.string().min(1).max(200),
    allocationId: z.string().min(1).max(200),
    jobId,
    customerId: identifier,
    providerId: identifier,
    instrument,
    inputTokens: nonNegativeIntegerString.nullable(),
    outputTokens: nonNegativeIntegerString.nullable(),
    gpuSeconds: nonNegativeIntegerString.nullable(),
    energyKwh: nonNegativeDecimalString.nullable(),
    startedAt: isoInstant,
    endedAt: isoInstant,
  })
  .strict()
  .refine((u) => (u.instrument.startsWith('gpu:') ? u.gpuSeconds !== null : u.inputTokens !== null || u.outputTokens !== null), {
    message: 'gpu: usage needs gpuSeconds; model: usage needs inputTokens or outputTokens',
    path: ['gpuSeconds'],
  })
  .refine((u) => Date.parse(u.endedAt) >= Date.parse(u.startedAt), { message: 'endedAt must not be before startedAt', path: ['endedAt'] });
export type UsageMetered = z.infer<typeof usageMeteredSchema>;
