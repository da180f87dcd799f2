import type { z } from 'zod';
import { ProblemException } from './problem.filter.js';

/** Parses a request part with a schema, or answers 400 with every problem, by path. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'path' | 'header'): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ProblemException({
    title: `invalid ${part}`,
    status: 400,
    detail: parsed.error.issues.map((i) => `${i.path.join('.') || part}: ${i.message}`).slice(0, 5).join('; '),
    errors: parsed.error.issues.slice(0, 50).map((i) => ({ path: i.path.join('.') || part, message: i.message })),
  });
}
