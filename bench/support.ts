import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { SpotPriceTick } from '#contracts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Recreates a scratch database for a benchmark run: every run starts from the same empty state. */
export async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

/** A built service as its own process, like production. */
export function startService(app: string, env: Record<string, string>): ChildProcess {
  // BENCH_NODE_ARGS reach the service's node only (e.g. --cpu-prof to see where its time goes).
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  return spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist/apps', app, 'src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * Stops a service and waits until it has exited (SIGKILL after `timeoutMs`). A bench that exits
 * first leaves the service running into the next run, which then shares the machine with it
 * and finds its database dropped under it.
 */
export async function stopService(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th there.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds used so far by each live process whose command line passes `test` (the broker,
 * PostgreSQL's backends, Redis), by pid. Two readings give what the stack spent between them
 * (`cpuBetween`); a process that exited in between takes its share with it.
 */
function processesCpu(test: (commandLine: string) => boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (test(readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' '))) out.set(Number(name), cpuSeconds(Number(name)));
    } catch {
      // It exited while we looked.
    }
  }
  return out;
}

/** The shared parts of the stack, by command line: what a unit of work costs does not stop at the services. */
const STACK_PROCESSES = {
  broker: (cmd: string) => cmd.includes('kafka.Kafka'),
  postgres: (cmd: string) => cmd.startsWith('postgres') || cmd.includes('/bin/postgres '),
  redis: (cmd: string) => cmd.startsWith('redis-server'),
} as const;

export interface StackCpuReading {
  readonly name: string;
  readonly test: (commandLine: string) => boolean;
  readonly before: ReadonlyMap<number, number>;
}

/** A reading of every shared process's CPU (`STACK_PROCESSES`); `stackCpuSince` gives the seconds each spent since. */
export function readStackCpu(): StackCpuReading[] {
  return Object.entries(STACK_PROCESSES).map(([name, test]) => ({ name, test, before: processesCpu(test) }));
}

export function stackCpuSince(reading: readonly StackCpuReading[]): { name: string; seconds: number }[] {
  return reading.map(({ name, test, before }) => ({ name, seconds: cpuBetween(before, processesCpu(test)) }));
}

function cpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let seconds = 0;
  for (const [pid, t] of after) seconds += t - (before.get(pid) ?? 0);
  return seconds;
}

/** Peak resident memory of a process, in MiB (VmHWM). */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

/**
 * bench:ingest's tick: offer `offer` of `providerId`, at its `seq`, with a price that moves with
 * `i`. An offer is one instrument in one region: its price and capacity move, not what it sells.
 * Valid from a minute before `base` for a day.
 */
export function benchTick(providerId: string, offer: number, seq: number, i: number, base: number, publishedAt: string): SpotPriceTick {
  return {
    providerId,
    offerId: `o${offer}`,
    seq,
    instrument: `gpu:class-${offer % 7}`,
    region: `region-${offer % 5}`,
    gridZone: `zone-${offer % 5}`,
    price: `${1 + (i % 300) / 100}`,
    currency: 'USD',
    energyKwhPerUnit: '0.7',
    energyIncluded: true,
    capacity: '8',
    validFrom: new Date(base - 60_000).toISOString(),
    validUntil: new Date(base + 86_400_000).toISOString(),
    attributes: { tier: 'spot', interruptible: true, dataPolicy: 'no-retention', hardware: 'bench' },
    publishedAt,
  };
}
