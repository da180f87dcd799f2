import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Topic } from '#contracts';
import { mergeTariffKinds } from '#market';
import { awsSpot, octopusAgile, shift } from '../feed/formats.js';
import { backtest, Backtester, OutOfTimeOrder, type JobReport } from './backtester.js';
import { InputError, readJobs, readLines, type BacktestInputs, type InputText, type InputTexts } from './inputs.js';
import { inputsOf, sourcesOf } from './sources.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/**
 * The real files: AWS spot history of c5a.2xlarge in five availability zones (as regions), priced
 * without energy, in one grid zone whose tariff is an Octopus Agile day (8 Dec 2018, with four
 * negative half-hours at night), moved onto 8 Dec 2023, inside the AWS history. GBP at 1.25 USD.
 */
/** Inputs given as text (the CLI gives the files' bytes). */
type Text = InputText & { readonly text: string };

function marketTexts(): { ticks: Text; tariffs: Text; fx: Text } {
  const ticks = awsSpot(fixture('aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv'), { zone: 'eastern-england', energyIncluded: false });
  const delta = Date.parse('2023-12-08T00:00:00Z') - Date.parse('2018-12-08T00:00:00Z');
  const tariffs = octopusAgile(fixture('octopus_agile_A_Eastern_England_2018-12.csv'), { zone: 'eastern-england' })
    .filter((m) => m.kind === 'tariff' && m.tariff.slots[0]?.start.startsWith('2018-12-08'))
    .map((m) => shift(m, delta));
  const text = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n');
  return {
    ticks: { file: 'ticks', text: text(ticks.map((m) => (m.kind === 'tick' ? { topic: Topic.SpotPrices, message: m.tick } : undefined))) },
    tariffs: { file: 'tariffs', text: text(tariffs.map((m) => (m.kind === 'tariff' ? m.tariff : undefined))) },
    fx: { file: 'fx', text: text([{ base: 'GBP', quote: 'USD', rate: '1.25', asOf: '2023-11-01T00:00:00Z' }]) },
  };
}

function market(): Pick<BacktestInputs, 'ticks' | 'tariffs' | 'fx'> {
  const { ticks, tariffs, fx } = marketTexts();
  return {
    ticks: readLines(ticks.file, ticks.text, Topic.SpotPrices),
    tariffs: readLines(tariffs.file, tariffs.text, Topic.EnergyTariffs),
    fx: readLines(fx.file, fx.text, Topic.FxRates),
  };
}

const job = (o: Record<string, unknown>) =>
  JSON.stringify({ instrument: 'gpu:c5a.2xlarge', quantity: '1', limitPrice: '0.50', work: { type: 'gpu-hours', hours: '1' }, runtimeSeconds: 900, ...o });

const JOBS = [
  // Submitted at 01:45 (4.41p/kWh), may start until 07:45: the cheapest half-hour is 04:30 (-2.4255p).
  job({ id: 'defer', submittedAt: '2023-12-08T01:45:00Z', deadline: '2023-12-08T08:00:00Z', constraints: { regions: ['us-east-1c'] } }),
  // The same, but it must start by 04:00: the cheapest half-hour before that is 03:30 (-0.882p).
  job({ id: 'early', submittedAt: '2023-12-08T01:45:00Z', deadline: '2023-12-08T04:15:00Z', constraints: { regions: ['us-east-1c'] } }),
  job({ id: 'only-1b', submittedAt: '2023-12-08T10:00:00Z', deadline: '2023-12-08T12:00:00Z', deferrable: false, quantity: '150', work: { type: 'gpu-hours', hours: '150' }, constraints: { regions: ['us-east-1b'] } }),
  job({ id: 'too-cheap', submittedAt: '2023-12-08T10:00:00Z', deadline: '2023-12-08T12:00:00Z', limitPrice: '0.05' }),
  job({ id: 'nowhere', submittedAt: '2023-12-08T10:00:00Z', deadline: '2023-12-08T12:00:00Z', constraints: { regions: ['eu-west-1'] } }),
].join('\n');

function run(jobs = JOBS) {
  return new Backtester(200).run({ ...market(), jobs: readJobs('jobs', jobs) });
}

const byId = (jobs: readonly JobReport[], id: string) => jobs.find((j) => j.id === id) as JobReport;

describe('backtest on the real files', () => {
  const report = run();

  it('moves a deferrable job to the cheapest feasible half-hour, a negative one, at the hand-computed price', () => {
    const j = byId(report.jobs, 'defer');
    expect(j.outcome).toBe('filled');
    expect(j.deferredUntil).toBe('2023-12-08T04:30:00.000Z');
    // us-east-1c costs 0.1627 from 01:32:39 (the file); energy 0.2 kWh × -2.4255 GBX/kWh × 1.25 USD/GBP = -0.00606375 USD.
    expect(j.allocations).toEqual([
      expect.objectContaining({ region: 'us-east-1c', start: '2023-12-08T04:30:00.000Z', computeNanoUsd: '162700000', energyNanoUsd: '-6063750', effectiveNanoUsd: '156636250' }),
    ]);
    // 156,636,250 nano-USD, plus the 2% fee (3,132,725).
    expect(j.totalNanoUsd).toBe('159768975');
  });

  it('never waits past the latest feasible start', () => {
    const j = byId(report.jobs, 'early');
    expect(j.allocations).toEqual([expect.objectContaining({ start: '2023-12-08T03:30:00.000Z', energyNanoUsd: '-2205000' })]);
    expect(Date.parse(j.allocations[0]?.start ?? '')).toBeLessThanOrEqual(Date.parse('2023-12-08T04:00:00Z'));
  });

  it('keeps a job limited to one zone there, splitting across nothing else, and fills it at the price in force', () => {
    const j = byId(report.jobs, 'only-1b');
    expect(j.outcome).toBe('partially-filled');
    expect(new Set(j.allocations.map((a) => a.region))).toEqual(new Set(['us-east-1b']));
    // All 100 units on offer (the feed's capacity), at 0.1715 (the file, since 09:32:25) and
    // 0.2 kWh × 12.5265p (the 10:00 slot) × 1.25 = 0.03131625 USD; nothing from another zone.
    expect(j.allocations).toEqual([expect.objectContaining({ quantity: '100', computeNanoUsd: '171500000', energyNanoUsd: '31316250' })]);
    expect(j.filledQuantity).toBe('100');
    // Submitted on a slot boundary, it sees the boundary's prices, in its baselines too.
    expect(j.baselines.firstListed).toEqual(expect.objectContaining({ offerId: 'c5a.2xlarge:us-east-1b', effectiveNanoUsd: '202816250' }));
  });

  it('expires a job whose limit is below every price, with the reason, and refuses one no offer can serve', () => {
    expect(byId(report.jobs, 'too-cheap')).toEqual(expect.objectContaining({ outcome: 'expired', allocations: [], reason: 'no capacity at or below its limit before its latest feasible start' }));
    expect(byId(report.jobs, 'nowhere').outcome).toBe('refused');
    expect(byId(report.jobs, 'nowhere').reason).toContain('not in eu-west-1');
  });

  it('prices the naive baselines on the same data, and totals what was saved', () => {
    const j = byId(report.jobs, 'defer');
    // At 01:45 the only eligible offer is us-east-1c at 0.1627 + 0.2 × 4.41p × 1.25 = 0.173725.
    expect(j.baselines.firstListed).toEqual(expect.objectContaining({ offerId: 'c5a.2xlarge:us-east-1c', effectiveNanoUsd: '173725000' }));
    expect(BigInt(report.totals.firstListedNanoUsd)).toBeGreaterThan(BigInt(report.totals.costNanoUsd));
    expect(report.totals).toEqual(expect.objectContaining({ jobs: 5, filled: 2, partiallyFilled: 1, expired: 1, refused: 1, open: 0 }));
  });

  it('is deterministic: the same inputs give a byte-identical report', () => {
    expect(JSON.stringify(run())).toBe(JSON.stringify(report));
  });
});

describe('backtest inputs', () => {
  it('names the file and line of a bad input, with the schema’s words', () => {
    expect(() => readLines('ticks.jsonl', '\n{"providerId": "p"}\n', Topic.SpotPrices)).toThrow(InputError);
    expect(() => readLines('ticks.jsonl', '\n{"providerId": "p"}\n', Topic.SpotPrices)).toThrow(/^ticks\.jsonl:2: /);
    expect(() => readLines('fx.jsonl', 'not json', Topic.FxRates)).toThrow(/^fx\.jsonl:1: not JSON/);
    expect(() => readLines('fx.jsonl', JSON.stringify({ topic: Topic.SpotPrices, message: {} }), Topic.FxRates)).toThrow(/a market\.spot-prices\.v1 message in a file of market\.fx-rates\.v1/);
    expect(() => readJobs('jobs.jsonl', `${job({ submittedAt: '2023-12-08T10:00:00Z', deadline: '2023-12-08T12:00:00Z' })}\n${job({ deadline: 'x' })}`)).toThrow(/^jobs\.jsonl:2: /);
  });
});

describe('backtest as the tool runs it: market files replayed as they are read', () => {
  const texts = { ...marketTexts(), jobs: { file: 'jobs', text: JOBS } } satisfies InputTexts;

  it('streams files in time order, and reports exactly what replaying them read whole does', () => {
    const whole = JSON.stringify(run());
    expect(JSON.stringify(new Backtester(200).stream(sourcesOf(texts)))).toBe(whole);
    expect(JSON.stringify(backtest(200, texts))).toBe(whole);
  });

  it('starts again sorted when a file goes back in time, and reports what a sorted run does', () => {
    // The latest tick moved to the top of its file: a stream meets it first, then earlier ones.
    const lines = (texts.ticks as Text).text.split('\n');
    const reordered: InputTexts = { ...texts, ticks: { file: 'ticks', text: [lines.at(-1), ...lines.slice(0, -1)].join('\n') } };
    expect(() => new Backtester(200).stream(sourcesOf(reordered))).toThrow(OutOfTimeOrder);
    const sorted = new Backtester(200).run(inputsOf(reordered));
    expect(sorted.inputs.ticks).toBe(lines.length);
    expect(JSON.stringify(backtest(200, reordered))).toBe(JSON.stringify(sorted));
  });

  it('stops at a bad line met while streaming, naming its file and line', () => {
    const ticks = texts.ticks as Text;
    const count = ticks.text.split('\n').length;
    const bad: InputTexts = { ...texts, ticks: { file: 'ticks.jsonl', text: `${ticks.text}\n{"providerId": "p"}` } };
    expect(() => backtest(200, bad)).toThrow(new RegExp(`^ticks\\.jsonl:${count + 1}: `));
  });
});


describe('the tariff merge the backtester keeps per zone', () => {
  it('gives the same slots ahead of an instant when slots that ended a longest slot before it are left out', () => {
    // The backtester merges only the slots ending after (now - the longest slot), as the clock
    // never goes back: what it then windows must be what merging the whole history gives.
    const kinds = ['retail', 'day-ahead', 'real-time'] as const;
    const slot = fc.record({ kind: fc.constantFrom(...kinds), start: fc.integer({ min: 0, max: 200 }), length: fc.integer({ min: 1, max: 40 }), price: fc.integer({ min: -50, max: 50 }) });
    fc.assert(
      fc.property(fc.array(slot, { maxLength: 30 }), fc.integer({ min: 0, max: 250 }), (raw, now) => {
        const rows = raw.map((s) => ({ kind: s.kind, start: s.start, end: s.start + s.length, price: String(s.price), currency: 'EUR', unit: 'kWh' as const }));
        const longest = Math.max(0, ...raw.map((s) => s.length));
        const ahead = (slots: ReturnType<typeof mergeTariffKinds>) => slots.filter((s) => s.end > now);
        expect(ahead(mergeTariffKinds(rows.filter((r) => r.end > now - longest)))).toEqual(ahead(mergeTariffKinds(rows)));
      }),
      { numRuns: 500 },
    );
  });
});
