import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Topic } from '#contracts';
import { backtest } from '../tools/backtest/backtester.js';
import { ROOT } from './support/services.js';

const run = promisify(execFile);

/**
 * The ticks reader's second thread is compiled JavaScript (a worker runs plain Node), so these
 * tests take the reader from the build, and the CLI as users run it. Each compares it with the
 * one-thread reader on the same bytes: the replay must get exactly the same ticks.
 */
type Reader = typeof import('../tools/backtest/tick-reader.js');
const built = (await import(path.join(ROOT, 'dist/tools/backtest/tick-reader.js'))) as Reader;

/** A feed that changes what it can between ticks: prices, capacity, regions, currencies, energy, attributes. */
function feedLines(count: number): string[] {
  const lines: string[] = [];
  const start = Date.parse('2026-03-01T00:00:00Z');
  for (let i = 0; i < count; i += 1) {
    const o = i % 13;
    const at = start + i * 20_000;
    const tick = {
      providerId: `prov-${o % 4}`,
      offerId: `offer-${o}`,
      seq: Math.floor(i / 13) + 1,
      instrument: 'gpu:h100',
      region: `region-${(o + Math.floor(i / 500)) % 5}`,
      gridZone: `zone-${o % 2}`,
      price: `${1 + (i % 7)}.${(i * 7919) % 10_000}`,
      currency: i % 97 === 0 ? 'GBP' : o % 3 === 0 ? 'EUR' : 'USD',
      energyKwhPerUnit: o % 5 === 0 ? '0.65' : '0.7',
      energyIncluded: (o + Math.floor(i / 300)) % 4 === 0,
      capacity: String(5 + (i % 50)),
      validFrom: new Date(at).toISOString(),
      validUntil: new Date(at + 3_600_000).toISOString(),
      attributes: { tier: 'spot', interruptible: o % 2 === 0, dataPolicy: i % 211 < 20 ? 'training-allowed' : 'no-retention', hardware: i % 400 < 3 ? `h100 "sxm" \\ ${i}` : 'h100' },
      publishedAt: new Date(at).toISOString(),
    };
    lines.push(i % 50 === 7 ? '' : i % 31 === 0 ? JSON.stringify({ topic: Topic.SpotPrices, message: tick }) : JSON.stringify(tick));
  }
  return lines;
}

/** Bytes in shared memory, as `readTexts` reads a file. */
function shared(text: string): Uint8Array {
  const b = Buffer.from(text, 'utf8');
  const bytes = new Uint8Array(new SharedArrayBuffer(b.length));
  bytes.set(b);
  return bytes;
}

/** Blocks this thread for a while, as a slow replay would, so that the reader thread gets ahead. */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('the ticks reader on two threads', () => {
  const text = feedLines(4_000).join('\n');
  const blockBytes = 4_096; // about 300 blocks

  it('gives the replay exactly the ticks, and the line numbers, that one thread reads', () => {
    const bytes = shared(text);
    expect(built.twoThreadsFor(bytes, blockBytes)).toBe(true);
    const one = [...built.ticksOf('ticks', bytes, { blockBytes, threads: 1 })];
    const stats = { blocks: 0, byReader: 0 };
    const two = [];
    for (const tick of built.ticksOf('ticks', bytes, { blockBytes, stats })) {
      two.push(tick);
      if (two.length === 1 || two.length === 2_000) pause(1_000);
    }
    expect(two).toEqual(one);
    expect(one.length).toBe(4_000 - 80);
    // Both threads read: the reader while this one paused, this one the blocks nobody had claimed.
    expect(stats.blocks).toBe(Math.ceil(bytes.length / blockBytes));
    expect(stats.byReader).toBeGreaterThan(0);
    expect(stats.byReader).toBeLessThan(stats.blocks);
  });

  it('stops at the first bad line, numbered in the file, whichever thread read it', () => {
    const lines = feedLines(4_000);
    lines.splice(3_000, 0, '{"providerId": "p"}');
    const bytes = shared(lines.join('\n'));
    const read: number[] = [];
    const iterate = () => {
      for (const { line } of built.ticksOf('ticks.jsonl', bytes, { blockBytes })) {
        read.push(line);
        if (read.length === 1) pause(1_000);
      }
    };
    expect(iterate).toThrow(/^ticks\.jsonl:3001: /);
    expect(read.at(-1)).toBe(3_000);
  });
  it('reads alone, to the same ticks, when the reader thread cannot start', async () => {
    // Node refuses to start a worker from a file in a process run with --input-type: the reader
    // thread dies before it takes the file up, and this thread must read every block itself.
    const dir = mkdtempSync(path.join(tmpdir(), 'backtest-reader-'));
    const file = path.join(dir, 'ticks.jsonl');
    writeFileSync(file, text);
    const script = `
      const { ticksOf } = await import(${JSON.stringify(path.join(ROOT, 'dist/tools/backtest/tick-reader.js'))});
      const text = (await import('node:fs')).readFileSync(${JSON.stringify(file)});
      const bytes = new Uint8Array(new SharedArrayBuffer(text.length));
      bytes.set(text);
      const stats = { blocks: 0, byReader: 0 };
      const one = JSON.stringify([...ticksOf('ticks', bytes, { blockBytes: ${blockBytes}, threads: 1 })]);
      const two = JSON.stringify([...ticksOf('ticks', bytes, { blockBytes: ${blockBytes}, stats })]);
      console.log(JSON.stringify({ same: one === two, stats }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(JSON.parse(stdout)).toEqual({ same: true, stats: { blocks: Math.ceil(Buffer.byteLength(text) / blockBytes), byReader: 0 } });
  });
});

describe('npm run backtest on files that span blocks', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'backtest-reader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // About 4 MB of ticks: four blocks of a megabyte, the reader thread's size.
  const ticks = feedLines(10_000).join('\n');
  const tariffs = [0, 1, 2].map((d) =>
    JSON.stringify({
      zone: `zone-${d % 2}`,
      kind: 'day-ahead',
      currency: 'EUR',
      unit: 'MWh',
      slots: Array.from({ length: 48 }, (_, s) => ({ start: new Date(Date.parse('2026-03-01T00:00:00Z') + s * 1_800_000).toISOString(), end: new Date(Date.parse('2026-03-01T00:00:00Z') + (s + 1) * 1_800_000).toISOString(), price: String(40 + ((s * 37 + d * 11) % 90) - 30) })),
      seq: d + 1,
      publishedAt: '2026-02-28T12:00:00Z',
    }),
  );
  const fx = ['EUR', 'GBP'].map((base) => JSON.stringify({ base, quote: 'USD', rate: base === 'EUR' ? '1.08' : '1.27', asOf: '2026-02-28T00:00:00Z' }));
  const jobs = Array.from({ length: 60 }, (_, j) =>
    JSON.stringify({
      submittedAt: new Date(Date.parse('2026-03-01T00:30:00Z') + j * 3_000_000).toISOString(),
      customerId: `cust-${j % 3}`,
      instrument: 'gpu:h100',
      quantity: String(1 + (j % 9)),
      limitPrice: `${2 + (j % 6)}.50`,
      deadline: new Date(Date.parse('2026-03-01T00:30:00Z') + j * 3_000_000 + 6 * 3_600_000).toISOString(),
      runtimeSeconds: 1_800,
      deferrable: j % 3 === 0,
      ...(j % 4 === 1 && { constraints: { regions: [`region-${j % 5}`] } }),
      ...(j % 4 === 2 && { constraints: { dataPolicies: ['training-allowed'], interruptible: false } }),
      work: { type: 'gpu-hours', hours: String(1 + (j % 9)) },
    }),
  );
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const files = { ticks: write('ticks.jsonl', ticks), tariffs: write('tariffs.jsonl', tariffs.join('\n')), fx: write('fx.jsonl', fx.join('\n')), jobs: write('jobs.jsonl', jobs.join('\n')) };
  const cli = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'dist/tools/backtest/cli.js'), '--jobs', files.jobs, '--tariffs', files.tariffs, '--fx', files.fx, ...args]);

  it('reports exactly what one thread reading the same texts reports', async () => {
    const out = path.join(dir, 'report.json');
    await cli('--ticks', files.ticks, '--out', out);
    const expected = backtest(200, {
      ticks: { file: files.ticks, text: ticks },
      tariffs: { file: files.tariffs, text: tariffs.join('\n') },
      fx: { file: files.fx, text: fx.join('\n') },
      jobs: { file: files.jobs, text: jobs.join('\n') },
    });
    expect(expected.totals.filled + expected.totals.partiallyFilled).toBeGreaterThan(10);
    expect(readFileSync(out, 'utf8')).toBe(`${JSON.stringify(expected, null, 2)}\n`);
  });

  it('exits 65 at a bad line in the last block, naming the file and the line', async () => {
    const bad = write('bad.jsonl', `${ticks}\n{"providerId": "p"}`);
    const failed = cli('--ticks', bad);
    await expect(failed).rejects.toMatchObject({ code: 65, stderr: expect.stringContaining(`backtest: ${bad}:10001: `) });
  });
});
