import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ServiceProcess, startAll, stopAll, type AppName } from './support/services.js';

jest.setTimeout(120_000);

const APPS: AppName[] = ['gateway', 'market-data', 'matching-engine', 'dispatcher', 'billing'];

describe('every service', () => {
  const services = APPS.map((app) => new ServiceProcess(app));

  beforeAll(async () => {
    await startAll(services);
  });

  afterAll(async () => {
    await stopAll(services);
  });

  it.each(APPS)('%s answers /health, /ready and /metrics', async (app) => {
    const s = services[APPS.indexOf(app)] as ServiceProcess;
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { details: Record<string, { status: string }> };
    expect(Object.keys(body.details).sort()).toEqual(['kafka', 'postgres', 'redis']);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('process_cpu_seconds_total');
  });

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    // A second billing instance on its own port: stopping it leaves the suite's instance alone.
    const s = new ServiceProcess('billing', {}, 3199).start();
    await s.ready();
    expect(await s.stop('SIGTERM')).toBe(0);
  });

  it('refuses to start on a bad configuration, naming the variable', async () => {
    const s = new ServiceProcess('gateway', { KAFKA_BROKERS: 'not-a-broker-list' }).start();
    expect(await s.stop('SIGCONT')).toBe(78);
    expect(s.output.join('')).toMatch(/KAFKA_BROKERS: must be a comma-separated list of host:port/);
  });
});
