/**
 * When a job should trade: now, later in a cheaper slot, or never. Pure, with the time as an
 * argument: the live engine and the backtester call this same function.
 */

/** The predicted best eligible price over one future interval (nano-USD per unit). */
export interface ForecastPoint {
  readonly start: number;
  readonly end: number;
  readonly price: bigint;
}

export interface Window {
  /** Not before this instant. */
  readonly earliestStart: number;
  /** The deadline minus the job's runtime: a job not matched by then cannot finish in time. */
  readonly latestStart: number;
  readonly limit: bigint;
  /** false: never wait for a cheaper slot. */
  readonly deferrable: boolean;
  readonly forecast: readonly ForecastPoint[];
}

export type Plan =
  | { readonly kind: 'trade' }
  | { readonly kind: 'wait'; readonly until: number; readonly reason: string }
  | { readonly kind: 'expire'; readonly reason: string };

/** Waiting must be predicted to save at least this share of the price now (basis points). */
export const MIN_DEFERRAL_SAVING_BPS = 100n;

/**
 * `bestNow` is the best price the job could take now (undefined: nothing within its limit).
 * With nothing to take now the job trades at once, that is, rests in the book: it fills as soon
 * as capacity appears, which waiting could only delay. With a price now it waits for the
 * cheapest predicted slot that starts by its latest start, when that saves at least
 * MIN_DEFERRAL_SAVING_BPS; the earliest such slot on a tie.
 */
export function planOrder(w: Window, bestNow: bigint | undefined, now: number): Plan {
  if (now > w.latestStart) return { kind: 'expire', reason: 'its latest feasible start (deadline minus runtime) has passed' };
  if (now < w.earliestStart) return { kind: 'wait', until: w.earliestStart, reason: 'not before its earliest start' };
  if (!w.deferrable || bestNow === undefined) return { kind: 'trade' };
  let best: ForecastPoint | undefined;
  for (const p of w.forecast) {
    if (p.start <= now || p.start > w.latestStart || p.price > w.limit) continue;
    if (best === undefined || p.price < best.price || (p.price === best.price && p.start < best.start)) best = p;
  }
  if (best === undefined) return { kind: 'trade' };
  const saving = bestNow - best.price;
  const magnitude = bestNow < 0n ? -bestNow : bestNow;
  if (saving <= 0n || saving * 10_000n < magnitude * MIN_DEFERRAL_SAVING_BPS) return { kind: 'trade' };
  return {
    kind: 'wait',
    until: best.start,
    reason: `a cheaper slot is predicted: ${best.price} nano-USD per unit against ${bestNow} now`,
  };
}
