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

export const MatchingJobName = {
  /** A new job for the book. */
  Submit: 'submit',
  /** Withdraw what of a job is not matched yet. */
  Cancel: 'cancel',
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

export const queueJobs = {
  [QueueName.Matching]: {
    [MatchingJobName.Submit]: { schema: orderSchema, jobId: (p: Order) => `submit.${p.jobId}` },
    [MatchingJobName.Cancel]: { schema: cancelOrderSchema, jobId: (p: z.infer<typeof cancelOrderSchema>) => `cancel.${p.order.jobId}` },
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
