/**
 * bench:book — the order-book core against the npm package nodejs-order-book, on the same
 * operations in the same run: 60% resting asks, 25% cancels, 15% crossing orders (market-like
 * bids that take from the best asks), with 1k, 10k and 100k resting orders.
 *
 * Budget (DESIGN.md 14): >= 10x the baseline's ops/s; p99 <= 5 µs; cancel cost flat as the book grows.
 */
import { createRequire } from 'node:module';
import { OrderBook, type Ask, type Bid } from '#order-book';
import { fmt, percentile } from './support.js';

const require = createRequire(import.meta.url);
const baselineModule = require('nodejs-order-book') as typeof import('nodejs-order-book');

type Op = { kind: 'rest'; id: string; price: number; size: number } | { kind: 'cancel'; id: string } | { kind: 'cross'; size: number };

/** A small seeded PRNG (mulberry32): both books see exactly the same operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const attributes = { tier: 'spot', interruptible: true, dataPolicy: 'no-retention' } as const;

/**
 * The operations, generated against a simulated book so that they mean what the mix says at the
 * stated depth: a cancel names an order that is resting at that moment (not one a crossing order
 * already filled), and crossing orders are sized so that the book stays at `resting` orders.
 * Inserts (60%) outnumber cancels (25%), so crossing orders (15%) must take about 2.3 orders each
 * on average; a fixed small size (1–5 units against asks of 1–10) let a "1k" book grow to 61k
 * during a run, and a fifth of the cancels named orders long gone.
 *
 * The simulation is Spotgrid's book (its fills are checked against the naive reference in the
 * property tests); both books then replay the same operations.
 */
function operations(resting: number, count: number, seed: number): { warm: Op[]; ops: Op[] } {
  const rnd = prng(seed);
  const sim = new OrderBook('gpu:sim');
  const live: string[] = [];
  const index = new Map<string, number>();
  const forget = (id: string): void => {
    // Swap-remove keeps both the pick and the removal O(1).
    const k = index.get(id) as number;
    const last = live.pop() as string;
    if (k < live.length) {
      live[k] = last;
      index.set(last, k);
    }
    index.delete(id);
  };
  let next = 0;
  const rest = (): Op => {
    const id = `o${(next += 1)}`;
    const price = 1_000 + Math.floor(rnd() * 1_000);
    const size = 1 + Math.floor(rnd() * 10);
    index.set(id, live.length);
    live.push(id);
    sim.upsertAsk({ id, providerId: 'p', region: 'r', price: BigInt(price), quantity: BigInt(size), validUntil: Number.MAX_SAFE_INTEGER, attributes }, 0);
    return { kind: 'rest', id, price, size };
  };
  const warm = Array.from({ length: resting }, rest);
  const ops: Op[] = [];
  let bids = 0;
  for (let i = 0; i < count; i += 1) {
    const r = rnd();
    if (r < 0.6 || live.length === 0) ops.push(rest());
    else if (r < 0.85) {
      const id = live[Math.floor(rnd() * live.length)] as string;
      forget(id);
      sim.cancelAsk(id);
      ops.push({ kind: 'cancel', id });
    } else {
      // Mean 12.5 units, about 2.3 asks: the depth holds. Above it, a larger order; below, a smaller.
      const drift = live.length - resting;
      const size = drift > resting / 100 ? 13 + Math.floor(rnd() * 24) : drift < -resting / 100 ? 1 + Math.floor(rnd() * 5) : 1 + Math.floor(rnd() * 24);
      for (const f of sim.submitBid({ id: `s${(bids += 1)}`, quantity: BigInt(size), limit: 1_000_000n, constraints: {}, allowSplit: true }, 0, false).fills) {
        if (sim.askRemaining(f.askId) === undefined) forget(f.askId);
      }
      ops.push({ kind: 'cross', size });
    }
  }
  return { warm, ops };
}

interface Run {
  opsPerSecond: number;
  all: number[];
  cancel: number[];
}

/**
 * Each book gets the operations in its own input types, built before the clock starts: Spotgrid's
 * asks and bids arrive as bigint-typed objects from the pricing layer, the baseline builds its own
 * order objects from plain numbers inside `limit`/`market`.
 */
type Prepared = { kind: 'rest'; ask: Ask } | { kind: 'cancel'; id: string } | { kind: 'cross'; bid: Bid };

function prepare(ops: Op[]): Prepared[] {
  let bids = 0;
  return ops.map((o): Prepared => {
    switch (o.kind) {
      case 'rest':
        return { kind: 'rest', ask: { id: o.id, providerId: 'p', region: 'r', price: BigInt(o.price), quantity: BigInt(o.size), validUntil: Number.MAX_SAFE_INTEGER, attributes } };
      case 'cancel':
        return o;
      case 'cross':
        return { kind: 'cross', bid: { id: `b${(bids += 1)}`, quantity: BigInt(o.size), limit: 1_000_000n, constraints: {}, allowSplit: true } };
    }
  });
}

function runOurs(warm: Prepared[], ops: Prepared[], timed: boolean): Run {
  const book = new OrderBook('gpu:bench');
  for (const o of warm) if (o.kind === 'rest') book.upsertAsk(o.ask, 0);
  const all: number[] = [];
  const cancel: number[] = [];
  const start = process.hrtime.bigint();
  for (const o of ops) {
    const t0 = timed ? process.hrtime.bigint() : 0n;
    switch (o.kind) {
      case 'rest':
        book.upsertAsk(o.ask, 0);
        break;
      case 'cancel':
        book.cancelAsk(o.id);
        break;
      case 'cross':
        book.submitBid(o.bid, 0, false);
        break;
    }
    if (!timed) continue;
    const dt = Number(process.hrtime.bigint() - t0);
    all.push(dt);
    if (o.kind === 'cancel') cancel.push(dt);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSecond: ops.length / seconds, all: all.sort((a, b) => a - b), cancel: cancel.sort((a, b) => a - b) };
}

function runBaseline(warm: Op[], ops: Op[], timed: boolean): Run {
  const { OrderBook: Baseline, Side } = baselineModule;
  const book = new Baseline();
  for (const o of warm) if (o.kind === 'rest') book.limit({ side: Side.SELL, id: o.id, size: o.size, price: o.price });
  const all: number[] = [];
  const cancel: number[] = [];
  const start = process.hrtime.bigint();
  for (const o of ops) {
    const t0 = timed ? process.hrtime.bigint() : 0n;
    switch (o.kind) {
      case 'rest':
        book.limit({ side: Side.SELL, id: o.id, size: o.size, price: o.price });
        break;
      case 'cancel':
        book.cancel(o.id);
        break;
      case 'cross':
        book.market({ side: Side.BUY, size: o.size });
        break;
    }
    if (!timed) continue;
    const dt = Number(process.hrtime.bigint() - t0);
    all.push(dt);
    if (o.kind === 'cancel') cancel.push(dt);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSecond: ops.length / seconds, all: all.sort((a, b) => a - b), cancel: cancel.sort((a, b) => a - b) };
}

const COUNT = Number(process.env['BENCH_OPS'] ?? 200_000);
const PASSES = Number(process.env['BENCH_PASSES'] ?? 5);
const µs = (ns: number) => `${fmt(ns / 1_000, 2)} µs`;
console.log(`bench:book  (${COUNT.toLocaleString('en-US')} operations per run: 60% rest, 25% cancel, 15% cross; ops/s the median of ${PASSES} alternating passes; times per operation)\n`);
const cancelP50: number[] = [];
// BENCH_SIZES (e.g. "1000") runs some depths only, when working on one of them.
const SIZES = (process.env['BENCH_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
for (const resting of SIZES) {
  const { warm, ops } = operations(resting, COUNT, 42 + resting);
  // Both books' inputs are built once, before any pass, and reused by every pass (neither book
  // changes them): a pass measures the book, not the collector moving inputs made just before it.
  const ourWarm = prepare(warm);
  const ourOps = prepare(ops);
  // Warm both up once (JIT), then measure. Throughput: the median of PASSES untimed passes each,
  // alternating the two books so that both see the same heap and GC conditions (one pass of each
  // is at the mercy of when the JIT settles and when the collector runs). Latencies: a timed pass
  // over the same operations (reading the clock per operation costs as much as a cancel).
  runOurs(ourWarm, ourOps.slice(0, 20_000), false);
  runBaseline(warm, ops.slice(0, 20_000), false);
  const oursPasses: number[] = [];
  const basePasses: number[] = [];
  for (let pass = 0; pass < PASSES; pass += 1) {
    oursPasses.push(runOurs(ourWarm, ourOps, false).opsPerSecond);
    basePasses.push(runBaseline(warm, ops, false).opsPerSecond);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ours = { ...runOurs(ourWarm, ourOps, true), opsPerSecond: median(oursPasses) };
  const base = { ...runBaseline(warm, ops, true), opsPerSecond: median(basePasses) };
  cancelP50.push(percentile(ours.cancel, 50));
  console.log(`  ${resting.toLocaleString('en-US').padStart(7)} resting
    spotgrid            ${fmt(ours.opsPerSecond, 0).padStart(11)} ops/s   p50 ${µs(percentile(ours.all, 50))}   p99 ${µs(percentile(ours.all, 99))}   p99.9 ${µs(percentile(ours.all, 99.9))}   cancel p50 ${µs(percentile(ours.cancel, 50))} p99 ${µs(percentile(ours.cancel, 99))}
    nodejs-order-book   ${fmt(base.opsPerSecond, 0).padStart(11)} ops/s   p50 ${µs(percentile(base.all, 50))}   p99 ${µs(percentile(base.all, 99))}   p99.9 ${µs(percentile(base.all, 99.9))}   cancel p50 ${µs(percentile(base.cancel, 50))} p99 ${µs(percentile(base.cancel, 99))}
    ratio               ${fmt(ours.opsPerSecond / base.opsPerSecond, 2)}× the baseline's ops/s (budget ≥ 10×); p99 budget 5 µs → ${fmt(percentile(ours.all, 99) / 5_000, 2)} of it
`);
}
console.log(`  cancel p50 from 1k to 100k resting: ${cancelP50.map(µs).join(' → ')} (flat means it does not grow with the book)`);
