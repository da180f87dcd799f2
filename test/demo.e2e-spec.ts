import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { loadConfig } from '#platform';
import { count } from './support/db.js';
import { PORTS, ROOT, ServiceProcess, startAll, stopAll } from './support/services.js';
import { waitFor } from './support/wait.js';

jest.setTimeout(240_000);

/** `npm start`'s demo, run against the test stack: the market must move, and its customers' jobs complete. */
describe('the living demo', () => {
  const billing = new ServiceProcess('billing');
  const services = [new ServiceProcess('market-data'), new ServiceProcess('matching-engine'), billing, new ServiceProcess('gateway', { BILLING_URL: billing.url }), new ServiceProcess('dispatcher')];
  let demo: ChildProcess | undefined;
  const output: string[] = [];
  const admin = { authorization: `Bearer ${loadConfig().BOOTSTRAP_ADMIN_KEY ?? ''}` };
  const gateway = `http://127.0.0.1:${PORTS.gateway}`;

  beforeAll(async () => {
    await startAll(services);
    demo = spawn(process.execPath, [path.join(ROOT, 'dist/tools/demo/cli.js'), '--keys-file', path.join(ROOT, 'artifacts', 'demo-keys.json')], { cwd: ROOT, env: { ...process.env, GATEWAY_PORT: String(PORTS.gateway) }, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
    demo.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  });

  afterAll(async () => {
    if (demo !== undefined && demo.exitCode === null) {
      const exited = new Promise((r) => demo?.once('exit', r));
      demo.kill('SIGTERM');
      await exited;
    }
    await stopAll(services);
  });

  it('opens a market of real prices that moves within a minute, and its customers’ jobs complete', async () => {
    await waitFor('the demo to open its market', async () => (output.join('').includes('market open') ? true : undefined), 90_000, 500).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${output.join('').slice(-2_000)}`);
    });
    // The GPU snapshot's instruments and the AWS spot offer are quoted (energy from the tariffs, GBX through FX).
    const expected = ['gpu:a100-80gb', 'gpu:h100', 'gpu:h200', 'gpu:l40s', 'gpu:c5a.2xlarge'];
    await waitFor('quoted instruments', async () => {
      const r = (await (await fetch(`${gateway}/v1/instruments`, { headers: admin })).json()) as { instruments: { instrument: string }[] };
      const quoted = new Set(r.instruments.map((i) => i.instrument));
      return expected.every((i) => quoted.has(i)) ? true : undefined;
    }, 60_000, 500);
    // The AWS spot history replays: new prices within the minute.
    const seqs = async () => count(`SELECT count(DISTINCT seq) AS n FROM market.spot_price_ticks WHERE provider_id = 'aws' AND instrument = 'gpu:c5a.2xlarge' AND received_at > now() - interval '5 minutes'`);
    const first = await seqs();
    await waitFor('the spot price to move', async () => ((await seqs()) >= first + 3 ? true : undefined), 60_000, 1_000);
    // Customers submit jobs, which are matched, run and charged.
    await waitFor('a demo job to complete', async () => ((await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id IN ('acme', 'globex', 'initech') AND status = 'completed' AND updated_at > now() - interval '5 minutes'`)) > 0 ? true : undefined), 90_000, 1_000);
    const savings = (await (await fetch(`${gateway}/v1/savings`, { headers: admin })).json()) as { totals: { customerId: string; jobs: number }[] };
    expect(savings.totals.some((t) => ['acme', 'globex', 'initech'].includes(t.customerId) && t.jobs > 0)).toBe(true);
    expect(output.join('')).not.toMatch(/refused|failed/);
  });
});
