import { z } from 'zod';
import { integerString, jobConstraintsSchema, jobId } from './jobs.js';
import { identifier, instrument, isoInstant, nonNegativeDecimalString } from './primitives.js';

/**
 * The BullMQ vocabulary: queue names, job names, their payloads and their options, in one place
 * (like topics). A job's payload type is derived from its name, so a producer and a processor
 * cannot drift; job ids are deterministic, so adding a job twice queues it once.
 */
export const QueueName = {
  Matching: 'spotgrid-matching',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * Each provider has its own dispatch queue, so one slow or rate-limited provider never holds up
 * another's work. BullMQ keys use `:` as a separator, so the provider id is encoded.
 */
export function dispatchQueueOf(providerId: string): string {
  return `spotgrid-dispatch.${encodeURIComponent(providerId).replace(/%/g, '~')}`;
}

/** The dispatch job that runs one allocation: one per allocation, whatever redelivers it. */
export const dispatchJobIdOf = (allocationId: string): string => `run.${allocationId}`;

export const MatchingJobName = {
  /** A new job for the book. */
  Submit: 'submit',
  /** Withdraw what of a job is not matched yet. */
  Cancel: 'cancel',
  /** Put back the unfinished remainder of an allocation that a provider did not complete. */
  Requeue: 'requeue',
} as const;
export type MatchingJobName = (typeof MatchingJobName)[keyof typeof MatchingJobName];

/** The predicted best effective price of eligible capacity in one future tariff slot. */
export const forecastSlotSchema = z
  .object({ start: isoInstant, end: isoInstant, effectiveNanoUsd: integerString })
  .strict();
export type ForecastSlot = z.infer<typeof forecastSlotSchema>;

/** Most forecast slots carried by one order (a week of half-hours). */
export const MAX_FORECAST_SLOTS = 336;

/** A job as the matching engine needs it: the bid, its window and the forecast to defer on. */
export const orderSchema = z
  .object({
    jobId,
    customerId: identifier,
    instrument,
    /** Units of the instrument (up to 6 decimals). */
    quantity: nonNegativeDecimalString,
    limitNanoUsd: integerString,
    allowSplit: z.boolean(),
    constraints: jobConstraintsSchema,
    earliestStart: isoInstant,
    /** deadline − the job's runtime: it must be matched by then, or it expires. */
    latestStart: isoInstant,
    deadline: isoInstant,
    /** false: match as soon as possible, never wait for a cheaper slot. */
    deferrable: z.boolean(),
    forecast: z.array(forecastSlotSchema).max(MAX_FORECAST_SLOTS),
    submittedAt: isoInstant,
  })
  .strict();
export type Order = z.infer<typeof orderSchema>;

export const cancelOrderSchema = z.object({ order: orderSchema, reason: z.string().max(500), requestedAt: isoInstant }).strict();

/**
 * The remainder of one allocation, back to the book: matched again within the job's limit, never
 * on the provider that did not finish it, and with the deadline the job still has.
 */
export const requeueSchema = z
  .object({
    jobId,
    customerId: identifier,
    allocationId: z.string().min(1).max(200),
    /** Units of the instrument not done (up to 6 decimals, more than 0). */
    remainder: nonNegativeDecimalString.refine((v) => !/^0(\.0+)?$/.test(v), 'must be more than 0'),
    excludeProvider: identifier,
    /** 1 for the first time the job's work is put back, and so on. */
    attempt: z.number().int().min(1).max(100),
    reason: z.string().max(500),
    requestedAt: isoInstant,
  })
  .strict();
export type Requeue = z.infer<typeof requeueSchema>;

export const queueJobs = {
  [QueueName.Matching]: {
    [MatchingJobName.Submit]: { schema: orderSchema, jobId: (p: Order) => `submit.${p.jobId}` },
    [MatchingJobName.Cancel]: { schema: cancelOrderSchema, jobId: (p: z.infer<typeof cancelOrderSchema>) => `cancel.${p.order.jobId}` },
    [MatchingJobName.Requeue]: { schema: requeueSchema, jobId: (p: Requeue) => `requeue.${p.allocationId}` },
  },
} as const;

export type QueueJobOf<Q extends QueueName, N extends keyof (typeof queueJobs)[Q]> = (typeof queueJobs)[Q][N] extends {
  schema: infer S extends z.ZodType;
}
  ? z.infer<S>
  : never;

/**
 * Defaults for every job: retried with exponential back-off while the database or broker is
 * away (a handler is idempotent, so a retry is safe); kept a day after success so a re-add with
 * the same id stays a no-op; never dropped on failure, so a failed job can be inspected.
 */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 25,
  backoff: { type: 'exponential', delay: 250 },
  removeOnComplete: { age: 86_400, count: 200_000 },
  removeOnFail: false,
} as const;
