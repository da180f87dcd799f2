import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { waitFor } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export type AppName = 'gateway' | 'market-data' | 'matching-engine' | 'dispatcher' | 'billing';

export const PORTS: Record<AppName, number> = {
  gateway: 3100,
  'market-data': 3101,
  'matching-engine': 3102,
  dispatcher: 3103,
  billing: 3104,
};

const PORT_VARS: Record<AppName, string> = {
  gateway: 'GATEWAY_PORT',
  'market-data': 'MARKET_DATA_PORT',
  'matching-engine': 'MATCHING_ENGINE_PORT',
  dispatcher: 'DISPATCHER_PORT',
  billing: 'BILLING_PORT',
};

/** A built service running as its own process, as in production: killable, restartable. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  readonly output: string[] = [];

  constructor(
    readonly app: AppName,
    private readonly env: Record<string, string> = {},
    readonly port: number = PORTS[app],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): this {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps', this.app, 'src/main.js')], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...this.env, [PORT_VARS[this.app]]: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 2_000) this.output.splice(0, 1_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    return this;
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(`${this.app} /ready`, async () => {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`${this.app} exited with ${this.child.exitCode}:\n${this.output.join('').slice(-3_000)}`);
      }
      const res = await fetch(`${this.url}/ready`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, timeoutMs, 200);
  }

  async readyStatus(): Promise<number | undefined> {
    const res = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    return res?.status;
  }

  /** Stops the process with `signal` and waits for it to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}

/** Starts services together and waits until every one is ready (a suite's beforeAll). */
export async function startAll(services: readonly ServiceProcess[]): Promise<void> {
  for (const s of services) s.start();
  await Promise.all(services.map((s) => s.ready()));
}

/** Stops services together, each gracefully (a suite's afterAll). */
export async function stopAll(services: readonly ServiceProcess[]): Promise<void> {
  await Promise.all(services.map((s) => s.stop()));
}

export async function stack(command: 'up' | 'down' | 'kafka-up' | 'kafka-down'): Promise<void> {
  await run('bash', [path.join(ROOT, 'scripts/stack.sh'), command], { cwd: ROOT, timeout: 180_000 });
}

export async function postgres(command: 'start' | 'stop'): Promise<void> {
  const { stdout } = await run('ls', ['/etc/postgresql']);
  const version = stdout.trim().split('\n').sort().at(-1) ?? '';
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', command, ...(command === 'stop' ? ['-m', 'fast'] : [])], { timeout: 60_000 });
}

/**
 * A service started before a suite's tests and stopped after them. `current` follows restarts:
 * a test that kills and restarts the service assigns the new process to it.
 */
export function serviceForSuite(app: AppName, hooks: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void }) {
  const handle = { current: new ServiceProcess(app) };
  hooks.beforeAll(async () => {
    handle.current.start();
    await handle.current.ready();
  });
  hooks.afterAll(async () => {
    await handle.current.stop();
  });
  return handle;
}
