import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Topic, type Allocation, type EnergyTariff } from '#contracts';
import { count, sql } from './support/db.js';
import { collect, mark, produce } from './support/kafka.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { asRecord, feedKey, testProvider, tick, type TestKey } from './support/ticks.js';
import { waitFor } from './support/wait.js';
import { auth, serviceAuth } from './support/auth.js';

jest.setTimeout(240_000);

/**
 * The whole path of a job over the real stack: ticks (and tariffs) on Kafka → market-data →
 * quotes → the matching engine's book; jobs over HTTP → the gateway → BullMQ → the engine →
 * allocations and lifecycle events on Kafka → the job's record in the gateway.
 */
describe('matching: jobs in, allocations out, at the best effective price', () => {
  const market = new ServiceProcess('market-data');
  let engine = new ServiceProcess('matching-engine');
  const billing = new ServiceProcess('billing');
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url });

  beforeAll(async () => {
    await startAll([market, engine, billing, gateway]);
  });

  afterAll(async () => {
    await stopAll([market, engine, gateway, billing]);
  });

  /** Each test trades its own instrument, so suites sharing the stack never cross. */
  const instrumentFor = (label: string) => `gpu:t-${label}-${randomUUID().slice(0, 6)}`;
  const customer = () => `cust-${randomUUID().slice(0, 8)}`;

  /** A customer with money on account (a top-up through billing, as finance would make it). */
  async function funded(amount = '100000'): Promise<string> {
    const c = customer();
    const res = await fetch(`${billing.url}/v1/customers/${c}/top-ups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceAuth() },
      body: JSON.stringify({ amount, reference: randomUUID() }),
    });
    expect(res.status).toBe(201);
    return c;
  }

  interface Provider {
    id: string;
    key: TestKey;
    seq: number;
  }
  async function provider(label: string): Promise<Provider> {
    const id = testProvider(label);
    return { id, key: await feedKey(id), seq: 0 };
  }

  /** Publishes a tick valid from a minute ago for two hours. */
  async function offer(p: Provider, o: { instrument: string; region: string; price: string; capacity?: string; zone?: string; energyIncluded?: boolean }) {
    p.seq += 1;
    const now = Date.now();
    const t = tick(p.id, p.seq, {
      offerId: `${o.region}-1`,
      instrument: o.instrument,
      region: o.region,
      gridZone: o.zone ?? 'PJM',
      price: o.price,
      capacity: o.capacity ?? '10',
      energyIncluded: o.energyIncluded ?? true,
      energyKwhPerUnit: '1',
      validFrom: new Date(now - 60_000).toISOString(),
      validUntil: new Date(now + 2 * 3_600_000).toISOString(),
      publishedAt: new Date(now).toISOString(),
    });
    await produce(Topic.SpotPrices, [asRecord(t, p.key)]);
  }

  /** Waits until the engine holds an ask for the offer at this price. */
  async function askAt(p: Provider, region: string, nanoUsd: bigint): Promise<void> {
    await waitFor(`ask of ${p.id} at ${nanoUsd}`, async () => {
      const n = await count(`SELECT count(*) AS n FROM matching.offers WHERE provider_id = $1 AND offer_id = $2 AND effective_nano_usd = $3`, [
        p.id,
        `${region}-1`,
        nanoUsd.toString(),
      ]);
      return n === 1 ? true : undefined;
    }, 60_000, 100);
  }

  async function submit(customerId: string, body: Record<string, unknown>, key = randomUUID()) {
    const res = await fetch(`${gateway.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await auth('customer', customerId)), 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, unknown> & { id: string; status: string };
    return { status: res.status, id: answer.id, body: answer };
  }

  function job(instrument: string, patch: Record<string, unknown> = {}) {
    const quantity = (patch['quantity'] as string | undefined) ?? '2';
    return {
      instrument,
      quantity,
      limitPrice: '5',
      deadline: new Date(Date.now() + 3_600_000).toISOString(),
      runtimeSeconds: 60,
      work: { type: 'gpu-hours', hours: quantity },
      ...patch,
    };
  }

  async function jobState(customerId: string, id: string) {
    const res = await fetch(`${gateway.url}/v1/jobs/${id}`, { headers: await auth('customer', customerId) });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      status: string;
      reason: string | null;
      filledQuantity: string;
      deferredUntil: string | null;
      events: { type: string; status: string; at: string }[];
      allocations: { id: string; providerId: string; region: string; quantity: string; unitPrice: { effectiveNanoUsd: string }; matchedAt: string }[];
    };
  }

  async function until(customerId: string, id: string, status: string, timeoutMs = 60_000) {
    return waitFor(`job ${id} ${status}`, async () => {
      const s = await jobState(customerId, id);
      return s.status === status ? s : undefined;
    }, timeoutMs, 150);
  }

  it('lands a job limited to one region on the cheapest offer there, and an open one on the cheapest anywhere', async () => {
    const instrument = instrumentFor('regions');
    const [a, b] = [await provider('east'), await provider('west')];
    const since = await mark(Topic.Allocations);
    await offer(a, { instrument, region: 'us-east-1', price: '2.00' });
    await offer(b, { instrument, region: 'eu-west-1', price: '1.50' });
    await Promise.all([askAt(a, 'us-east-1', 2_000_000_000n), askAt(b, 'eu-west-1', 1_500_000_000n)]);

    const c = await funded();
    const east = await submit(c, job(instrument, { constraints: { regions: ['us-east-1'] } }));
    expect(east.status).toBe(201);
    const matched = await until(c, east.id, 'matched');
    expect(matched.allocations).toEqual([expect.objectContaining({ providerId: a.id, region: 'us-east-1', quantity: '2', unitPrice: expect.objectContaining({ effectiveNanoUsd: '2000000000' }) })]);
    expect(matched.events.map((e) => e.type)).toEqual(['submitted', 'queued', 'matched']);

    const open = await submit(c, job(instrument));
    const cheapest = await until(c, open.id, 'matched');
    expect(cheapest.allocations).toEqual([expect.objectContaining({ providerId: b.id, region: 'eu-west-1', unitPrice: expect.objectContaining({ effectiveNanoUsd: '1500000000' }) })]);

    // Both allocations are on Kafka, as the contract says: pay-as-ask, amount and fee exact.
    const published = await collect(since, (m) => m.key === east.id || m.key === open.id, (all) => all.length >= 2);
    const allocations = published.map((m) => JSON.parse(m.value?.toString() ?? '{}') as Allocation);
    expect(allocations.find((x) => x.jobId === east.id)).toMatchObject({ providerId: a.id, quantity: '2', effectiveNanoUsd: '2000000000', amountNanoUsd: '4000000000', feeNanoUsd: '80000000' });
  });

  it('rests a job whose limit is below every ask, and fills it when a cheaper tick arrives', async () => {
    const instrument = instrumentFor('rest');
    const p = await provider('rest');
    await offer(p, { instrument, region: 'us-east-1', price: '3.00' });
    await askAt(p, 'us-east-1', 3_000_000_000n);

    const c = await funded();
    const resting = await submit(c, job(instrument, { limitPrice: '2.50' }));
    expect(resting.status).toBe(201);
    const queued = await until(c, resting.id, 'queued');
    expect(queued.allocations).toEqual([]);

    await offer(p, { instrument, region: 'us-east-1', price: '2.40' });
    const filled = await until(c, resting.id, 'matched');
    expect(filled.allocations).toEqual([expect.objectContaining({ providerId: p.id, unitPrice: expect.objectContaining({ effectiveNanoUsd: '2400000000' }) })]);
  });

  it('lets a deferrable job wait for the cheaper tariff slot, and never past its latest feasible start', async () => {
    const instrument = instrumentFor('defer');
    const zone = `zone-${randomUUID().slice(0, 8)}`;
    const p = await provider('defer');
    const now = Date.now();
    const boundary = now + 25_000;
    const tariff: EnergyTariff = {
      zone,
      kind: 'day-ahead',
      currency: 'USD',
      unit: 'kWh',
      seq: 1,
      publishedAt: new Date(now).toISOString(),
      slots: [
        { start: new Date(now - 60_000).toISOString(), end: new Date(boundary).toISOString(), price: '1.00' },
        { start: new Date(boundary).toISOString(), end: new Date(now + 3 * 3_600_000).toISOString(), price: '0.10' },
      ],
    };
    await produce(Topic.EnergyTariffs, [{ key: zone, value: JSON.stringify(tariff) }]);
    // 2.00 compute + 1 kWh × 1.00 now = 3.00; from the boundary 2.00 + 0.10 = 2.10.
    await offer(p, { instrument, region: 'us-east-1', price: '2.00', zone, energyIncluded: false, capacity: '100' });
    await askAt(p, 'us-east-1', 3_000_000_000n);

    const c = await funded();
    const patient = await submit(c, job(instrument));
    // Its latest start (deadline − runtime) comes before the cheap slot: it must not wait for it.
    const hurried = await submit(c, job(instrument, { deadline: new Date(boundary - 5_000).toISOString(), runtimeSeconds: 5 }));
    const firm = await submit(c, job(instrument, { deferrable: false }));

    const deferred = await until(c, patient.id, 'deferred');
    expect(Date.parse(deferred.deferredUntil ?? '')).toBe(boundary);
    for (const id of [hurried.id, firm.id]) {
      const now3 = await until(c, id, 'matched');
      expect(now3.allocations[0]?.unitPrice.effectiveNanoUsd).toBe('3000000000');
    }

    const waited = await until(c, patient.id, 'matched', 90_000);
    expect(waited.allocations).toHaveLength(1);
    expect(waited.allocations[0]?.unitPrice.effectiveNanoUsd).toBe('2100000000');
    expect(Date.parse(waited.allocations[0]?.matchedAt ?? '')).toBeGreaterThanOrEqual(boundary);
    expect(waited.events.map((e) => e.type)).toEqual(['submitted', 'queued', 'deferred', 'queued', 'matched']);
  });

  it('expires a job that cannot fill at its limit by its latest start, with the reason', async () => {
    const instrument = instrumentFor('expire');
    const p = await provider('expire');
    await offer(p, { instrument, region: 'us-east-1', price: '9.00' });
    await askAt(p, 'us-east-1', 9_000_000_000n);
    const c = await funded();
    const j = await submit(c, job(instrument, { deadline: new Date(Date.now() + 8_000).toISOString(), runtimeSeconds: 5 }));
    const expired = await until(c, j.id, 'expired', 30_000);
    expect(expired.reason).toMatch(/latest feasible start/);
    expect(expired.allocations).toEqual([]);
  });

  it('takes a job once per Idempotency-Key, refuses the key with another body, and explains bad requests', async () => {
    const instrument = instrumentFor('idem');
    const p = await provider('idem');
    await offer(p, { instrument, region: 'us-east-1', price: '2.00' });
    await askAt(p, 'us-east-1', 2_000_000_000n);
    const c = await funded();
    const key = randomUUID();
    const body = job(instrument, { limitPrice: '1.00' });
    const first = await submit(c, body, key);
    const again = await submit(c, body, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.id);
    expect(await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id = $1`, [c])).toBe(1);

    const conflict = await submit(c, { ...body, quantity: '3', work: { type: 'gpu-hours', hours: '3' } }, key);
    expect(conflict.status).toBe(409);
    expect(conflict.body['detail']).toMatch(/different request/);

    const bad = await submit(c, { ...body, limitPrice: 2.5 });
    expect(bad.status).toBe(400);
    expect(bad.body['detail']).toMatch(/limitPrice/);
    const unknown = await submit(c, job('gpu:nobody-sells-this'));
    expect(unknown.status).toBe(422);
    expect(unknown.body['detail']).toMatch(/no provider offers/);
    const nowhere = await submit(c, job(instrument, { constraints: { regions: ['mars-1'] } }));
    expect(nowhere.status).toBe(422);
    const mismatch = await submit(c, job(instrument, { work: { type: 'gpu-hours', hours: '7' } }));
    expect(mismatch.status).toBe(422);
    const noKey = await fetch(`${gateway.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await auth('customer', c)) }, body: JSON.stringify(body) });
    expect(noKey.status).toBe(400);
    expect(await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id = $1`, [c])).toBe(1);

    // Cancel the resting one; a second cancel has nothing left to cancel.
    await until(c, first.id, 'queued');
    const del = await fetch(`${gateway.url}/v1/jobs/${first.id}`, { method: 'DELETE', headers: await auth('customer', c) });
    expect(del.status).toBe(202);
    const cancelled = await until(c, first.id, 'cancelled');
    expect(cancelled.reason).toMatch(/customer/);
    const twice = await fetch(`${gateway.url}/v1/jobs/${first.id}`, { method: 'DELETE', headers: await auth('customer', c) });
    expect(twice.status).toBe(409);
    // Another customer cannot see it, cancel it, read its results or find it in a list; a
    // provider or finance key cannot reach customers' jobs at all.
    const intruder = await auth('customer', customer());
    for (const [method, path] of [['GET', ''], ['DELETE', ''], ['GET', '/results']] as const) {
      const other = await fetch(`${gateway.url}/v1/jobs/${first.id}${path}`, { method, headers: intruder });
      expect([method, path, other.status]).toEqual([method, path, 404]);
    }
    const theirs = (await (await fetch(`${gateway.url}/v1/jobs`, { headers: intruder })).json()) as { items: unknown[] };
    expect(theirs.items).toEqual([]);
    for (const role of ['provider', 'finance', 'admin'] as const) {
      expect((await fetch(`${gateway.url}/v1/jobs/${first.id}`, { headers: await auth(role, `${role}-${c}`) })).status).toBe(403);
    }
  });

  it('refuses with 402 a job the customer cannot cover, holds the worst case of one it can, and gives it back when the job ends', async () => {
    const instrument = instrumentFor('funds');
    const p = await provider('funds');
    await offer(p, { instrument, region: 'us-east-1', price: '3.00' });
    await askAt(p, 'us-east-1', 3_000_000_000n);
    const c = await funded('10');
    // 2 units × $5 limit = $10, + 2% fee: $10.20 > $10.
    const refused = await submit(c, job(instrument));
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ requiredNanoUsd: '10200000000', availableNanoUsd: '10000000000' });
    expect(await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id = $1`, [c])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM billing.holds WHERE customer_id = $1`, [c])).toBe(0);

    // Within its means, at a limit below the ask: it rests, and its worst case is held.
    const resting = await submit(c, job(instrument, { limitPrice: '2.00' }));
    expect(resting.status).toBe(201);
    expect(await sql(`SELECT amount, status FROM billing.holds WHERE hold_id = $1`, [resting.id])).toEqual([{ amount: '4080000000', status: 'open' }]);
    const second = await submit(c, job(instrument, { limitPrice: '2.00', quantity: '3', work: { type: 'gpu-hours', hours: '3' } }));
    expect(second.status).toBe(402);
    await until(c, resting.id, 'queued');
    const del = await fetch(`${gateway.url}/v1/jobs/${resting.id}`, { method: 'DELETE', headers: await auth('customer', c) });
    expect(del.status).toBe(202);
    await until(c, resting.id, 'cancelled');
    await waitFor('the hold voided', async () => ((await count(`SELECT count(*) AS n FROM billing.holds WHERE hold_id = $1 AND status = 'voided'`, [resting.id])) === 1 ? true : undefined), 30_000, 100);
  });

  it('answers a pre-trade quote: the cost now, where, and whether waiting is cheaper', async () => {
    const instrument = instrumentFor('quote');
    const [a, b] = [await provider('qa'), await provider('qb')];
    await offer(a, { instrument, region: 'us-east-1', price: '2.00', capacity: '1' });
    await offer(b, { instrument, region: 'eu-west-1', price: '2.50', capacity: '5' });
    await Promise.all([askAt(a, 'us-east-1', 2_000_000_000n), askAt(b, 'eu-west-1', 2_500_000_000n)]);
    // The gateway's market view is refreshed every second.
    const res = await waitFor('a quote with both offers', async () => {
      const r = await fetch(`${gateway.url}/v1/quotes`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await auth('customer', 'quote-reader')) }, body: JSON.stringify({ instrument, quantity: '3' }) });
      const body = (await r.json()) as { now: { fills: unknown[]; totalNanoUsd: string; fillable: boolean }; waiting: unknown };
      return body.now.fills.length === 2 ? body : undefined;
    }, 20_000, 250);
    // 1 × 2.00 + 2 × 2.50 = 7.00, plus a 2% fee.
    expect(res.now).toMatchObject({ fillable: true, totalNanoUsd: '7140000000' });
    expect(res.waiting).toBeNull();
  });

  it('neither loses nor duplicates an allocation when the engine is killed mid-stream', async () => {
    const instrument = instrumentFor('crash');
    const p = await provider('crash');
    await offer(p, { instrument, region: 'us-east-1', price: '1.00', capacity: '10000' });
    await askAt(p, 'us-east-1', 1_000_000_000n);
    const c = await funded();
    const since = await mark(Topic.Allocations);
    const total = 200;
    const ids: string[] = [];
    const submitting = (async () => {
      for (let i = 0; i < total; i += 1) {
        const r = await submit(c, job(instrument, { quantity: '1' }));
        expect(r).toMatchObject({ status: 201 });
        ids.push(r.id);
      }
    })();
    await waitFor('some allocations', async () => ((await count(`SELECT count(*) AS n FROM matching.allocations WHERE customer_id = $1`, [c])) > 10 ? true : undefined), 60_000, 20);
    await engine.stop('SIGKILL');
    await submitting;
    engine = new ServiceProcess('matching-engine').start();
    await engine.ready();

    await waitFor('every job matched', async () => ((await count(`SELECT count(*) AS n FROM gateway.jobs WHERE customer_id = $1 AND status = 'matched'`, [c])) === total ? true : undefined), 120_000, 250);
    const rows = await sql<{ job_id: string; n: string }>(`SELECT job_id, count(*) AS n FROM matching.allocations WHERE customer_id = $1 GROUP BY job_id`, [c]);
    expect(rows).toHaveLength(total);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    expect(await count(`SELECT count(*) AS n FROM matching.offers WHERE provider_id = $1 AND allocated_micro = 200000000`, [p.id])).toBe(1);
    // On Kafka: one allocation per job (the relay may resend one after the kill; it has the same id).
    const published = await collect(since, (m) => ids.includes(m.key ?? ''), (all) => new Set(all.map((m) => m.key)).size >= total, 60_000);
    const byId = new Set(published.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as Allocation).allocationId));
    expect(byId.size).toBe(total);
  });
});
