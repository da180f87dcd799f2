import { z } from 'zod';

export { JobLimits, jobRequestSchema, quoteRequestSchema, workSchema, type JobRequest, type QuoteRequest, type Work } from '#market';

export const idempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required: any unique string per job, reused only to retry' })
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7E]+$/, 'printable ASCII without spaces');

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
