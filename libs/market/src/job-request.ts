/**
 * A job as customers submit it (`POST /v1/jobs`), and the rules that turn it into terms the engine
 * works in. The gateway and the backtester both read jobs with these.
 */
import { z } from 'zod';
import { instrument, isoInstant, jobConstraintsSchema, nonNegativeDecimalString } from '#contracts';
import { DecimalError, parseDecimal, parseQuantityMicro, toAtomicExact, USD_SCALE } from '#pricing';

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

/** Why a job's terms cannot be accepted: 400 for a malformed value, 422 for terms no market could serve. */
export class TermsError extends Error {
  constructor(
    readonly status: 400 | 422,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

function unprocessable(title: string, detail: string): TermsError {
  return new TermsError(422, title, detail);
}

/** A job's terms in the engine's units: quantity in micro-units, limit in nano-USD, instants in epoch ms. */
export interface JobTerms {
  readonly quantityMicro: bigint;
  readonly limitNanoUsd: bigint;
  readonly deadline: number;
  readonly earliestStart: number;
  readonly latestStart: number;
}

/** The checks that need no database: amounts, the work against the instrument, the time window. */
export function termsOf(req: JobRequest, now: number): JobTerms {
  let quantityMicro: bigint;
  let limitNanoUsd: bigint;
  try {
    quantityMicro = parseQuantityMicro(req.quantity);
  } catch (error) {
    if (error instanceof DecimalError) throw new TermsError(400, 'invalid body', `quantity: ${error.message}`);
    throw error;
  }
  try {
    limitNanoUsd = toAtomicExact(parseDecimal(req.limitPrice), USD_SCALE);
  } catch (error) {
    if (error instanceof DecimalError) throw new TermsError(400, 'invalid body', `limitPrice: at most ${USD_SCALE} decimal places`);
    throw error;
  }
  if (quantityMicro > JobLimits.maxQuantity * 1_000_000n) throw unprocessable('job too large', `quantity is at most ${JobLimits.maxQuantity} units per job`);

  const work = req.work;
  if (req.instrument.startsWith('gpu:')) {
    if (work.type !== 'gpu-hours') throw unprocessable('work does not fit the instrument', `${req.instrument} is sold in GPU-hours: send work {type: "gpu-hours", hours}`);
    if (parseQuantityMicro(work.hours) !== quantityMicro) throw unprocessable('work does not fit the instrument', `work.hours (${work.hours}) must equal quantity (${req.quantity})`);
  } else {
    const model = req.instrument.slice('model:'.length);
    if (work.type !== 'requests') throw unprocessable('work does not fit the instrument', `${req.instrument} is sold in tokens: send work {type: "requests", requests: [...]}`);
    const other = work.requests.find((r) => r.body.model !== model);
    if (other !== undefined) throw unprocessable('work does not fit the instrument', `request ${other.custom_id} asks for model ${other.body.model}, not ${model}`);
  }

  const deadline = Date.parse(req.deadline);
  const earliestStart = req.earliestStart === undefined ? now : Math.max(now, Date.parse(req.earliestStart));
  const latestStart = deadline - req.runtimeSeconds * 1_000;
  if (deadline > now + JobLimits.maxHorizonDays * 86_400_000) throw unprocessable('deadline too far', `the deadline may be at most ${JobLimits.maxHorizonDays} days ahead`);
  if (latestStart <= now) throw unprocessable('deadline cannot be met', `a runtime of ${req.runtimeSeconds} s from now ends after the deadline ${req.deadline}`);
  if (latestStart < earliestStart) throw unprocessable('deadline cannot be met', `a runtime of ${req.runtimeSeconds} s from the earliest start ends after the deadline`);
  return { quantityMicro, limitNanoUsd, deadline, earliestStart, latestStart };
}
