/** One tariff slot: [start, end) in epoch milliseconds, with its price as published. */
export interface Slot<P> {
  readonly start: number;
  readonly end: number;
  readonly price: P;
}

/**
 * A zone's tariff over time: slots sorted by start, not overlapping. A later publication for the
 * same interval replaces the earlier one (day-ahead prices are revised). Pure and immutable.
 */
export class TariffCurve<P> {
  private constructor(readonly slots: readonly Slot<P>[]) {}

  static empty<P>(): TariffCurve<P> {
    return new TariffCurve<P>([]);
  }

  static of<P>(slots: readonly Slot<P>[]): TariffCurve<P> {
    return TariffCurve.empty<P>().merge(slots);
  }

  /**
   * The curve with `incoming` slots laid over it: where they overlap, the incoming ones win.
   * Linear after sorting when the incoming slots do not overlap each other (every real feed).
   */
  merge(incoming: readonly Slot<P>[]): TariffCurve<P> {
    if (incoming.length === 0) return this;
    for (const s of incoming) if (!(s.end > s.start)) throw new RangeError(`slot end ${s.end} is not after its start ${s.start}`);
    const fresh = resolveOverlaps(incoming);
    const out: Slot<P>[] = [];
    let first = 0;
    for (const old of this.slots) {
      // Keep the parts of an old slot that no incoming slot covers (both are sorted: a moving window).
      while (first < fresh.length && (fresh[first] as Slot<P>).end <= old.start) first += 1;
      let pieces: Slot<P>[] = [old];
      for (let k = first; k < fresh.length && (fresh[k] as Slot<P>).start < old.end; k += 1) {
        const f = fresh[k] as Slot<P>;
        pieces = pieces.flatMap((p) => {
          if (f.end <= p.start || f.start >= p.end) return [p];
          const left = f.start > p.start ? [{ ...p, end: f.start }] : [];
          const right = f.end < p.end ? [{ ...p, start: f.end }] : [];
          return [...left, ...right];
        });
      }
      out.push(...pieces);
    }
    return new TariffCurve([...out, ...fresh].sort((a, b) => a.start - b.start));
  }

  /** The slot in force at `t`, by binary search; undefined where the curve has a gap. */
  at(t: number): Slot<P> | undefined {
    let lo = 0;
    let hi = this.slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.slots[mid] as Slot<P>;
      if (t < s.start) hi = mid - 1;
      else if (t >= s.end) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /** The slots that intersect [from, to): the forward curve over a window. */
  window(from: number, to: number): readonly Slot<P>[] {
    return this.slots.filter((s) => s.end > from && s.start < to);
  }

  /** The start of the next slot boundary after `t` (when a quote must be recomputed). */
  nextBoundary(t: number): number | undefined {
    for (const s of this.slots) {
      if (s.start > t) return s.start;
      if (s.end > t) return s.end;
    }
    return undefined;
  }
}

/** Incoming slots as one sorted, non-overlapping list: where two overlap, the later in the publication wins. */
function resolveOverlaps<P>(incoming: readonly Slot<P>[]): Slot<P>[] {
  const sorted = [...incoming].sort((a, b) => a.start - b.start);
  let overlapping = false;
  for (let i = 1; i < sorted.length && !overlapping; i += 1) overlapping = (sorted[i - 1] as Slot<P>).end > (sorted[i] as Slot<P>).start;
  if (!overlapping) return sorted;
  let merged: Slot<P>[] = [];
  for (const f of incoming) {
    merged = merged.flatMap((p) => {
      if (f.end <= p.start || f.start >= p.end) return [p];
      const left = f.start > p.start ? [{ ...p, end: f.start }] : [];
      const right = f.end < p.end ? [{ ...p, start: f.end }] : [];
      return [...left, ...right];
    });
    merged.push(f);
  }
  return merged.sort((a, b) => a.start - b.start);
}
