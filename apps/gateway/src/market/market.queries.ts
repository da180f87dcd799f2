import { z } from 'zod';
import { identifier, instrument } from '#contracts';

export const MAX_PAGE = 500;
/** Longest time range one history request may span, and most buckets one OHLC answer holds. */
export const MAX_RANGE_DAYS = 366;
export const MAX_BUCKETS = 10_000;

const INTERVALS = { '1m': 60, '5m': 300, '15m': 900, '30m': 1_800, '1h': 3_600, '4h': 14_400, '1d': 86_400 } as const;
export type Interval = keyof typeof INTERVALS;
export const intervalSeconds = (i: Interval): number => INTERVALS[i];

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(100);

/** A [from, to) window must be ordered and bounded. */
function checkRange(q: { from: Date; to: Date }, ctx: z.RefinementCtx): void {
  if (q.to <= q.from) ctx.addIssue({ code: 'custom', message: 'to must be after from', path: ['to'] });
  else if (q.to.getTime() - q.from.getTime() > MAX_RANGE_DAYS * 86_400_000) ctx.addIssue({ code: 'custom', message: `at most ${MAX_RANGE_DAYS} days`, path: ['to'] });
}

export const quotesQuery = z.object({ instrument, region: identifier.optional(), limit, cursor: z.string().max(512).optional() }).strict();

export const ohlcQuery = z
  .object({ from: instant, to: instant, region: identifier.optional(), interval: z.enum(Object.keys(INTERVALS) as [Interval, ...Interval[]]).default('1h') })
  .strict()
  .superRefine(checkRange)
  .refine(
  (q) => (q.to.getTime() - q.from.getTime()) / 1_000 / INTERVALS[q.interval] <= MAX_BUCKETS,
  { message: `more than ${MAX_BUCKETS} buckets: use a longer interval or a shorter range`, path: ['interval'] },
);

export const tariffHistoryQuery = z.object({ from: instant, to: instant, limit, cursor: z.string().max(512).optional() }).strict().superRefine(checkRange);

export const forwardQuery = z.object({ hours: z.coerce.number().int().min(1).max(168).default(48) }).strict();

export const instrumentParam = instrument;
export const zoneParam = identifier;

/** How many asks one depth answer lists (cheapest first); the totals cover them all. */
export const MAX_DEPTH = 200;
export const depthQuery = z.object({ instrument, region: identifier.optional() }).strict();

/** Most instants one effective-price history answers (each prices every offer in force). */
export const MAX_HISTORY_POINTS = 1_000;
export const effectiveHistoryQuery = z
  .object({ from: instant, to: instant, region: identifier.optional(), interval: z.enum(Object.keys(INTERVALS) as [Interval, ...Interval[]]).default('5m') })
  .strict()
  .superRefine(checkRange)
  .refine((q) => (q.to.getTime() - q.from.getTime()) / 1_000 / INTERVALS[q.interval] <= MAX_HISTORY_POINTS, {
    message: `more than ${MAX_HISTORY_POINTS} points: use a longer interval or a shorter range`,
    path: ['interval'],
  });
