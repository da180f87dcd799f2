/**
 * bench:backtest — messages/s through the backtester on a month of ticks and tariffs.
 *
 * A synthetic month, built in this process (so the run needs no files): O offers over 5 grid
 * zones ticking every T minutes, a day-ahead tariff per zone and day (48 half-hours, some
 * negative), hourly FX, and J jobs (a third deferrable, some limited to a region). The ticks are
 * bytes in shared memory, as `npm run backtest` reads a file. Measured:
 *   1. the whole path, as `npm run backtest` takes it (`backtest`): JSON Lines read, validated with
 *      the live schemas and replayed as they are read, the ticks read by a second thread as well;
 *   2. the same on one thread (`threads: 1`), runs alternated with 1;
 *   3. the replay alone (quotes, the book, the clock), on the inputs already read;
 *   4. baseline, same run: JSON.parse alone over the same lines, the floor of reading them;
 *   5. from 3 and 4, the ceiling of one thread: parse then replay, as if checking were free.
 *
 * Budget (issue 9): >= 200,000 messages/s. */
import { Topic } from '#contracts';
import { backtest, Backtester } from '../tools/backtest/backtester.js';
import { readJobs, readLines, type InputTexts } from '../tools/backtest/inputs.js';
import { BLOCK_BYTES } from '../tools/backtest/tick-blocks.js';
import { fmt } from './support.js';

const OFFERS = Number(process.env['BENCH_OFFERS'] ?? 40);
const TICK_MINUTES = Number(process.env['BENCH_TICK_MINUTES'] ?? 10);
const JOBS = Number(process.env['BENCH_JOBS'] ?? 2_000);
const DAYS = 30;
const ZONES = ['zone-a', 'zone-b', 'zone-c', 'zone-d', 'zone-e'];
const START = Date.parse('2026-10-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A deterministic pseudo-random stream (the same month every run). */
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

/** The month as JSON Lines texts; the per-line arrays are garbage once it returns, as a file read would leave none. */
function month() {
  const tickLines: string[] = [];
  const seqs = new Array<number>(OFFERS).fill(0);
  for (let t = START; t < START + DAYS * 86_400_000; t += TICK_MINUTES * 60_000) {
    for (let o = 0; o < OFFERS; o += 1) {
      seqs[o] = (seqs[o] ?? 0) + 1;
      tickLines.push(
        JSON.stringify({
          providerId: `prov-${o % 8}`,
          offerId: `offer-${o}`,
          seq: seqs[o],
          instrument: 'gpu:h100',
          region: `region-${o % 10}`,
          gridZone: ZONES[o % ZONES.length],
          price: (1.5 + rand()).toFixed(4),
          currency: o % 4 === 0 ? 'EUR' : 'USD',
          energyKwhPerUnit: '0.7',
          energyIncluded: o % 3 === 0,
          capacity: String(10 + Math.floor(rand() * 90)),
          validFrom: iso(t),
          validUntil: iso(t + TICK_MINUTES * 60_000),
          attributes: { tier: 'spot', interruptible: o % 2 === 0, dataPolicy: 'no-retention', hardware: 'h100' },
          publishedAt: iso(t),
        }),
      );
    }
  }
  const tariffLines: string[] = [];
  for (let d = 0; d < DAYS; d += 1) {
    const day = START + d * 86_400_000;
    ZONES.forEach((zone, z) => {
      tariffLines.push(
        JSON.stringify({
          zone,
          kind: 'day-ahead',
          currency: 'EUR',
          unit: 'MWh',
          slots: Array.from({ length: 48 }, (_, s) => ({ start: iso(day + s * 1_800_000), end: iso(day + (s + 1) * 1_800_000), price: (40 + 60 * Math.sin((s / 48) * 2 * Math.PI + z) - 30 * rand()).toFixed(2) })),
          seq: d + 1,
          publishedAt: iso(day - 12 * 3_600_000),
        }),
      );
    });
  }
  const fxLines: string[] = [];
  for (let h = -1; h < DAYS * 24; h += 1) fxLines.push(JSON.stringify({ base: 'EUR', quote: 'USD', rate: (1.05 + 0.05 * rand()).toFixed(4), asOf: iso(START + h * 3_600_000) }));
  const jobLines: string[] = [];
  for (let j = 0; j < JOBS; j += 1) {
    const at = START + 3_600_000 + Math.floor(rand() * (DAYS - 2) * 86_400_000);
    const quantity = String(1 + Math.floor(rand() * 20));
    jobLines.push(
      JSON.stringify({
        submittedAt: iso(at),
        customerId: `cust-${j % 50}`,
        instrument: 'gpu:h100',
        quantity,
        limitPrice: (1.6 + rand()).toFixed(2),
        deadline: iso(at + (2 + Math.floor(rand() * 20)) * 3_600_000),
        runtimeSeconds: 3_600,
        deferrable: j % 3 === 0,
        ...(j % 5 === 0 ? { constraints: { regions: [`region-${j % 10}`] } } : {}),
        work: { type: 'gpu-hours', hours: quantity },
      }),
    );
  }
  const texts = { ticks: tickLines.join('\n'), tariffs: tariffLines.join('\n'), fx: fxLines.join('\n'), jobs: jobLines.join('\n') };
  return { texts, counts: { ticks: tickLines.length, tariffs: tariffLines.length, fx: fxLines.length, jobs: jobLines.length } };
}
const { texts, counts } = month();
const messages = counts.ticks + counts.tariffs + counts.fx + counts.jobs;

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

// Each figure is the median of RUNS runs: on this machine one run of a few seconds varies by ±30%.
// ---- 3. baseline: JSON.parse alone ------------------------------------------------------------------
const parseRates: number[] = [];
for (let r = 0; r < RUNS; r += 1) {
  const b0 = performance.now();
  let parsed = 0;
  for (const text of Object.values(texts)) for (const line of text.split('\n')) parsed += JSON.parse(line) === null ? 0 : 1;
  parseRates.push(parsed / ((performance.now() - b0) / 1_000));
}
const parseRate = median(parseRates);

// ---- 1. the whole path ----------------------------------------------------------------------------
/** The ticks file's bytes in shared memory, as `readTexts` reads a file for the reader thread. */
function sharedBytes(text: string): Uint8Array {
  const encoded = Buffer.from(text, 'utf8');
  const bytes = new Uint8Array(new SharedArrayBuffer(encoded.length));
  bytes.set(encoded);
  return bytes;
}
const files: InputTexts = {
  ticks: { file: 'ticks', text: sharedBytes(texts.ticks) },
  tariffs: { file: 'tariffs', text: texts.tariffs },
  fx: { file: 'fx', text: texts.fx },
  jobs: { file: 'jobs', text: texts.jobs },
};
const wholeSeconds: number[] = [];
const oneThreadSeconds: number[] = [];
const stats = { blocks: 0, byReader: 0 };
let report = backtest(200, files);
const oneThreadReport = backtest(200, files, { threads: 1 });
let wholeHeap = 0;
for (let r = 0; r < RUNS; r += 1) {
  const t0 = performance.now();
  report = backtest(200, files, { stats });
  wholeSeconds.push((performance.now() - t0) / 1_000);
  wholeHeap = Math.max(wholeHeap, process.memoryUsage().heapUsed / 2 ** 20);
  const t1 = performance.now();
  backtest(200, files, { threads: 1 });
  oneThreadSeconds.push((performance.now() - t1) / 1_000);
}
const read = () => ({
  ticks: readLines('ticks', texts.ticks, Topic.SpotPrices),
  tariffs: readLines('tariffs', texts.tariffs, Topic.EnergyTariffs),
  fx: readLines('fx', texts.fx, Topic.FxRates),
  jobs: readJobs('jobs', texts.jobs),
});
type Inputs = ReturnType<typeof read>;
// The inputs read whole, once, for the replay alone below (and for comparing reports).
const readStart = performance.now();
const held: { inputs: Inputs } = { inputs: read() };
const readSeconds = (performance.now() - readStart) / 1_000;
// ---- 2. the replay alone, on inputs already read ------------------------------------------------
const replaySeconds: number[] = [];
let identical = true;
for (let r = 0; r < RUNS; r += 1) {
  const r0 = performance.now();
  const again = new Backtester(200).run(held.inputs as Inputs);
  replaySeconds.push((performance.now() - r0) / 1_000);
  identical &&= JSON.stringify(again) === JSON.stringify(report);
}
identical &&= JSON.stringify(oneThreadReport) === JSON.stringify(report);

const whole = messages / median(wholeSeconds);
const oneThread = messages / median(oneThreadSeconds);
const replay = messages / median(replaySeconds);
// On one thread, parsing and replaying add up: even with checking free, the whole path on one
// thread could go no faster than this. With two, reading overlaps the replay (decision 0010).
const ceiling = 1 / (1 / parseRate + 1 / replay);
const heap = process.memoryUsage().heapUsed / 2 ** 20;
const t = report.totals;
console.log(`
bench:backtest — a month: ${OFFERS} offers ticking every ${TICK_MINUTES} min over ${ZONES.length} zones, daily day-ahead tariffs, hourly FX, ${JOBS} jobs
  messages: ${messages.toLocaleString('en-US')} (${counts.ticks.toLocaleString('en-US')} ticks, ${counts.tariffs} tariffs, ${counts.fx} FX, ${counts.jobs} jobs)
  medians of ${RUNS} runs, after one warm-up run:
  whole path (read, validate, replay as read): ${fmt(whole, 0)} messages/s in ${fmt(median(wholeSeconds), 2)} s — budget 200,000: ${fmt(whole / 200_000, 2)}×
    ticks read by the second thread: ${stats.byReader} of ${stats.blocks} blocks of ${BLOCK_BYTES / 2 ** 20} MiB
  whole path on one thread: ${fmt(oneThread, 0)} messages/s in ${fmt(median(oneThreadSeconds), 2)} s; two threads / one ${fmt(whole / oneThread, 2)}
  reading every input before replaying (one run): ${fmt(readSeconds, 2)} s
  replay alone: ${fmt(replay, 0)} messages/s in ${fmt(median(replaySeconds), 2)} s — budget 200,000: ${fmt(replay / 200_000, 2)}×
  baseline (JSON.parse alone, same lines): ${fmt(parseRate, 0)} messages/s; whole path / baseline ${fmt(whole / parseRate, 3)}
  one-thread ceiling (JSON.parse then replay, checking free): ${fmt(ceiling, 0)} messages/s; whole path / ceiling ${fmt(whole / ceiling, 2)}
  outcome: ${t.filled} filled, ${t.partiallyFilled} partly, ${t.expired} expired, ${t.refused} refused; every run byte-identical (one thread or two): ${identical}
  heap used: at most ${fmt(wholeHeap, 0)} MiB after a whole-path run (texts included); ${fmt(heap, 0)} MiB with every input read and held
`);
