import { z } from 'zod';
import { identifier, instrument, isoInstant, jobConstraintsSchema, nonNegativeDecimalString } from '#contracts';

/** Bounds on one job, so no request can make the engine or a provider take unbounded work. */
export const JobLimits = {
  maxRequests: 10_000,
  maxQuantity: 1_000_000n,
  maxHorizonDays: 30,
  maxRuntimeSeconds: 7 * 86_400,
  defaultRuntimeSeconds: 900,
} as const;

const positiveQuantity = nonNegativeDecimalString.refine((v) => !/^0(\.0+)?$/.test(v), 'must be more than 0');

/** One line of an OpenAI batch input file: what the dispatcher will send to the provider. */
const openAiRequest = z
  .object({
    custom_id: z.string().min(1).max(200),
    method: z.literal('POST').default('POST'),
    url: z.enum(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses']).default('/v1/chat/completions'),
    body: z.looseObject({ model: z.string().min(1).max(200) }),
  })
  .strict();

export const workSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('gpu-hours'), hours: positiveQuantity }).strict(),
  z
    .object({ type: z.literal('requests'), requests: z.array(openAiRequest).min(1).max(JobLimits.maxRequests) })
    .strict()
    .refine((w) => new Set(w.requests.map((r) => r.custom_id)).size === w.requests.length, {
      message: 'custom_id must be unique within a job',
      path: ['requests'],
    }),
]);
export type Work = z.infer<typeof workSchema>;

/** The terms of a job or of a pre-trade question: what, how much, at most at what price, when, where. */
const termsShape = {
  instrument,
  /** Units of the instrument: GPU-hours, or millions of tokens. Up to 6 decimals. */
  quantity: positiveQuantity,
  /** USD per unit, at most 9 decimals. */
  limitPrice: nonNegativeDecimalString,
  deadline: isoInstant,
  earliestStart: isoInstant.optional(),
  /** How long the work runs once started; the job must be matched by deadline − runtime. */
  runtimeSeconds: z.number().int().min(1).max(JobLimits.maxRuntimeSeconds).default(JobLimits.defaultRuntimeSeconds),
  constraints: jobConstraintsSchema.default({}),
  /** false: all-or-none from the book (one fill or several, all at once). */
  allowSplit: z.boolean().default(true),
  /** false: match as soon as possible, never wait for a cheaper tariff slot. */
  deferrable: z.boolean().default(true),
};

export const jobRequestSchema = z.object({ ...termsShape, work: workSchema }).strict();
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const quoteRequestSchema = z
  .object({
    ...termsShape,
    limitPrice: nonNegativeDecimalString.optional(),
    deadline: isoInstant.optional(),
  })
  .strict();
export type QuoteRequest = z.infer<typeof quoteRequestSchema>;

export const idempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required: any unique string per job, reused only to retry' })
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7E]+$/, 'printable ASCII without spaces');

/** Until API keys (issue 7), the caller names its customer account in this header. */
export const CUSTOMER_HEADER = 'x-customer-id';
export const customerIdSchema = identifier;

export const jobIdParam = z.uuid({ error: 'a job id is a UUID' });

export const jobListQuery = z
  .object({
    status: z.string().max(20).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const resultsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();
