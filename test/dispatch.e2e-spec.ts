import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { dlqTopicOf, Topic, type Allocation, type UsageMetered } from '#contracts';
import { Header } from '#messaging';
import { count, sql } from './support/db.js';
import { collect, mark, produce } from './support/kafka.js';
import { ScriptedOpenAi } from './support/openai-server.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { asRecord, feedKey, testProvider, tick, type TestKey } from './support/ticks.js';
import { waitFor } from './support/wait.js';
import { auth, serviceAuth } from './support/auth.js';

jest.setTimeout(300_000);

/**
 * Dispatch on the real stack: jobs matched by the engine run on providers (a scripted
 * OpenAI-compatible server this suite starts, and simulated providers), usage is metered on
 * `usage.metered.v1` exactly once, and work a provider did not finish goes to the next one.
 */
describe('dispatch: allocations run on providers, usage metered once', () => {
  const openai = new ScriptedOpenAi();
  const ids = {
    http: testProvider('http'),
    slow: testProvider('slow'),
    flaky: testProvider('flaky'),
    steady: testProvider('steady'),
    /** Four providers that always preempt: one more than the attempts a job has. */
    doomed: [1, 2, 3, 4].map((n) => testProvider(`doomed${n}`)),
  };
  const market = new ServiceProcess('market-data');
  const engine = new ServiceProcess('matching-engine');
  const billing = new ServiceProcess('billing', { LOG_LEVEL: process.env['SERVICE_LOG_LEVEL'] ?? 'warn' });
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url });
  let dispatcher: ServiceProcess;
  const dispatcherEnv = () => ({
    TEST_PROVIDER_KEY: 'sk-test-123',
    DISPATCH_PROVIDERS: JSON.stringify({
      [ids.http]: { adapter: 'openai-compatible', baseUrl: openai.url, apiKeyEnv: 'TEST_PROVIDER_KEY', timeoutMs: 1_000, backoffMs: 50, maxRetries: 3 },
      [ids.slow]: { adapter: 'openai-compatible', baseUrl: openai.url, requestConcurrency: 2, backoffMs: 50 },
      [ids.flaky]: { adapter: 'simulated', preemptionRate: 1, secondsPerGpuHour: 0.5 },
      [ids.steady]: { adapter: 'simulated', secondsPerGpuHour: 0.5 },
      ...Object.fromEntries(ids.doomed.map((id) => [id, { adapter: 'simulated', preemptionRate: 1, secondsPerGpuHour: 0.5 }])),
    }),
  });

  beforeAll(async () => {
    await openai.start();
    dispatcher = new ServiceProcess('dispatcher', dispatcherEnv());
    await startAll([market, engine, billing, gateway, dispatcher]);
  });

  afterAll(async () => {
    if (process.env['SHOW_SERVICE_LOGS']) for (const s of [market, engine, billing, gateway, dispatcher]) process.stderr.write(`--- ${s.app}\n${s.output.join('')}\n`);
    await stopAll([market, engine, gateway, billing, dispatcher]);
    await openai.stop();
  });

  const instrumentFor = (kind: 'gpu' | 'model', label: string) => `${kind}:t-${label}-${randomUUID().slice(0, 6)}`;

  async function funded(): Promise<string> {
    const c = `cust-${randomUUID().slice(0, 8)}`;
    const res = await fetch(`${billing.url}/v1/customers/${c}/top-ups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceAuth() },
      body: JSON.stringify({ amount: '100000', reference: randomUUID() }),
    });
    expect(res.status).toBe(201);
    return c;
  }

  const keys = new Map<string, { key: TestKey; seq: number }>();
  async function offer(providerId: string, instrument: string, price: string): Promise<void> {
    let p = keys.get(providerId);
    if (p === undefined) {
      p = { key: await feedKey(providerId), seq: 0 };
      keys.set(providerId, p);
    }
    p.seq += 1;
    const now = Date.now();
    const t = tick(providerId, p.seq, {
      offerId: 'o-1',
      instrument,
      region: 'us-east-1',
      gridZone: 'PJM',
      price,
      capacity: '100',
      energyIncluded: true,
      energyKwhPerUnit: '1',
      validFrom: new Date(now - 60_000).toISOString(),
      validUntil: new Date(now + 2 * 3_600_000).toISOString(),
      publishedAt: new Date(now).toISOString(),
    });
    await produce(Topic.SpotPrices, [asRecord(t, p.key)]);
    await waitFor(`ask of ${providerId}`, async () => {
      const n = await count(`SELECT count(*) AS n FROM matching.offers WHERE provider_id = $1 AND instrument = $2`, [providerId, instrument]);
      return n === 1 ? true : undefined;
    }, 60_000, 100);
  }

  async function submit(customerId: string, body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${gateway.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await auth('customer', customerId)), 'idempotency-key': randomUUID() },
      body: JSON.stringify({ limitPrice: '5', deadline: new Date(Date.now() + 3_600_000).toISOString(), runtimeSeconds: 60, ...body }),
    });
    const answer = (await res.json()) as { id: string };
    expect(res.status).toBe(201);
    return answer.id;
  }

  interface JobState {
    status: string;
    reason: string | null;
    events: { type: string; status: string; reason: string | null }[];
    allocations: { id: string; providerId: string; quantity: string; run: { status: string; reason: string | null } | null }[];
  }
  async function until(customerId: string, id: string, status: string, timeoutMs = 90_000): Promise<JobState> {
    return waitFor(`job ${id} ${status}`, async () => {
      const res = await fetch(`${gateway.url}/v1/jobs/${id}`, { headers: await auth('customer', customerId) });
      const s = (await res.json()) as JobState;
      if (s.status === 'failed' && status !== 'failed') throw new Error(`job ${id} failed: ${s.reason}`);
      return s.status === status ? s : undefined;
    }, timeoutMs, 200);
  }

  /** OpenAI batch lines for `instrument`'s model, each with the server's script for it. */
  function requests(instrument: string, label: string, scripts: readonly string[]) {
    return scripts.map((script, i) => ({
      custom_id: `${label}-${i}`,
      body: { model: instrument.slice('model:'.length), messages: [{ role: 'user', content: `hello ${i}` }], metadata: { script, key: `${label}-${i}` } },
    }));
  }

  async function usageOf(since: Awaited<ReturnType<typeof mark>>, jobId: string, distinct: number): Promise<Map<string, UsageMetered>> {
    const seen = new Map<string, UsageMetered>();
    await collect(
      since,
      (m) => {
        const u = JSON.parse(m.value?.toString('utf8') ?? '{}') as UsageMetered;
        if (u.jobId !== jobId) return false;
        const before = seen.get(u.usageId);
        // A usage event published twice (the outbox is at-least-once) must be the same event.
        if (before !== undefined) expect(u).toEqual(before);
        seen.set(u.usageId, u);
        return true;
      },
      () => seen.size >= distinct,
      60_000,
    );
    return seen;
  }

  it('meters exactly the usage the provider reported, through 429, 500, timeouts and unreadable answers; a refused request fails alone', async () => {
    const instrument = instrumentFor('model', 'http');
    await offer(ids.http, instrument, '1.00');
    const customer = await funded();
    const since = await mark(Topic.UsageMetered);
    const label = `h-${randomUUID().slice(0, 6)}`;
    const scripts = ['ok', 'ok', '429-once', '500-once', 'timeout-once', 'malformed-once', 'bad', 'ok'];
    const id = await submit(customer, { instrument, quantity: '0.01', work: { type: 'requests', requests: requests(instrument, label, scripts) } });

    const job = await until(customer, id, 'completed');
    expect(job.reason).toContain('1 request(s) refused');
    // The provider sees the work it was given, and how its run went; another provider does not.
    const work = (await (await fetch(`${gateway.url}/v1/provider/allocations`, { headers: await auth('provider', ids.http) })).json()) as {
      items: { jobId: string; run: { status: string } | null; unitPrice: { effectiveNanoUsd: string; effectiveUsd: string } }[];
    };
    const mine = work.items.filter((a) => a.jobId === id);
    expect(mine.map((a) => a.run?.status)).toEqual(job.allocations.map((a) => a.run?.status));
    // The unit price reads as the offers' quotes do: nano-USD for programs, a decimal for people.
    for (const a of mine) expect(Number(a.unitPrice.effectiveUsd) * 1e9).toBeCloseTo(Number(a.unitPrice.effectiveNanoUsd), 0);
    const elsewhere = (await (await fetch(`${gateway.url}/v1/provider/allocations`, { headers: await auth('provider', `${ids.http}-other`) })).json()) as { items: unknown[] };
    expect(elsewhere.items).toEqual([]);
    expect(job.events.map((e) => e.type)).toEqual(expect.arrayContaining(['queued', 'matched', 'dispatched', 'running', 'completed']));
    expect(openai.authorizations).toContain('Bearer sk-test-123');

    const usage = await usageOf(since, id, 7);
    expect(usage.size).toBe(7);
    const reported = [...openai.answered].filter(([k]) => k.startsWith(label)).map(([, u]) => u);
    expect(reported).toHaveLength(7);
    const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
    expect(sum([...usage.values()].map((u) => BigInt(u.inputTokens ?? '0')))).toBe(sum(reported.map((u) => BigInt(u.input))));
    expect(sum([...usage.values()].map((u) => BigInt(u.outputTokens ?? '0')))).toBe(sum(reported.map((u) => BigInt(u.output))));
    // The 429 was waited out for its Retry-After, each flaky request was retried once, the refused one never.
    expect(openai.attempts.get(`${label}-2`)).toBe(2);
    expect(openai.attempts.get(`${label}-4`)).toBe(2);
    expect(openai.attempts.get(`${label}-6`)).toBe(1);

    const res = await fetch(`${gateway.url}/v1/jobs/${id}/results`, { headers: await auth('customer', customer) });
    expect(res.status).toBe(200);
    const results = (await res.json()) as { items: { customId: string; status: string; error: string | null; response: { body: { choices: unknown[] } } | null }[] };
    expect(results.items.map((r) => [r.customId, r.status])).toEqual(scripts.map((s, i) => [`${label}-${i}`, s === 'bad' ? 'failed' : 'succeeded']));
    expect(results.items[6]?.error).toBe('400: messages: required');
    expect(results.items[0]?.response?.body.choices).toHaveLength(1);
    // Another customer cannot read them.
    const other = await fetch(`${gateway.url}/v1/jobs/${id}/results`, { headers: await auth('customer', 'someone-else') });
    expect(other.status).toBe(404);
  });

  it('resumes a job after the dispatcher is killed mid-run, metering each request once', async () => {
    const instrument = instrumentFor('model', 'slow');
    await offer(ids.slow, instrument, '1.00');
    const customer = await funded();
    const since = await mark(Topic.UsageMetered);
    const label = `s-${randomUUID().slice(0, 6)}`;
    const n = 40;
    const before = openai.okAnswers;
    const id = await submit(customer, { instrument, quantity: '0.05', work: { type: 'requests', requests: requests(instrument, label, Array(n).fill('slow')) } });

    await waitFor('some requests answered', async () => (openai.okAnswers - before >= 10 ? true : undefined), 60_000, 20);
    expect(await dispatcher.stop('SIGKILL')).toBeNull();
    const doneAtKill = await count(`SELECT count(*) AS n FROM dispatch.results WHERE job_id = $1`, [id]);
    expect(doneAtKill).toBeLessThan(n);
    dispatcher = new ServiceProcess('dispatcher', dispatcherEnv()).start();
    await dispatcher.ready();

    await until(customer, id, 'completed', 120_000);
    const usage = await usageOf(since, id, n);
    expect(usage.size).toBe(n);
    expect(await count(`SELECT count(*) AS n FROM dispatch.results WHERE job_id = $1 AND status = 'succeeded'`, [id])).toBe(n);
    const expected = Array.from({ length: n }, (_, i) => ScriptedOpenAi.usageOf(`${label}-${i}`));
    const input = [...usage.values()].reduce((a, u) => a + BigInt(u.inputTokens ?? '0'), 0n);
    expect(input).toBe(expected.reduce((a, u) => a + BigInt(u.input), 0n));
    // Billing posted each usage once.
    await waitFor('billing posted the usage', async () => {
      const posted = await count(`SELECT count(*) AS n FROM billing.usage_postings WHERE usage_id = ANY($1)`, [[...usage.keys()]]);
      return posted === n ? true : undefined;
    }, 60_000, 250).catch(async () => {
      const rows = await sql(`SELECT usage_id FROM billing.usage_postings WHERE usage_id LIKE $1 LIMIT 3`, [`%${id}%`]);
      throw new Error(`billing did not post ${n} usage events; some: ${JSON.stringify(rows)}`);
    });
  });

  it('re-places a preempted allocation’s remainder on the next provider, and the job completes', async () => {
    const instrument = instrumentFor('gpu', 'preempt');
    await offer(ids.flaky, instrument, '1.00');
    await offer(ids.steady, instrument, '1.50');
    const customer = await funded();
    const since = await mark(Topic.UsageMetered);
    const id = await submit(customer, { instrument, quantity: '2', work: { type: 'gpu-hours', hours: '2' } });

    const job = await until(customer, id, 'completed');
    expect(job.allocations.map((a) => [a.providerId, a.run?.status])).toEqual([
      [ids.flaky, 'preempted'],
      [ids.steady, 'completed'],
    ]);
    expect(job.allocations[0]?.run?.reason).toContain('back to matching');
    const types = job.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['matched', 'dispatched', 'running', 'attempt-ended', 'requeued', 'completed']));
    expect(types.indexOf('attempt-ended')).toBeLessThan(types.indexOf('requeued'));
    // What ran on each adds up to the job: metered GPU-seconds are two hours, no more, no less.
    const usage = await usageOf(since, id, 2);
    expect([...usage.values()].reduce((a, u) => a + BigInt(u.gpuSeconds ?? '0'), 0n)).toBe(7_200n);
    expect(BigInt(usage.get(`${job.allocations[1]?.id}:gpu`)?.gpuSeconds ?? '0')).toBeGreaterThan(0n);
  });

  it('gives up once the job has used its attempts: the job fails with why, and only what ran is metered', async () => {
    const instrument = instrumentFor('gpu', 'doomed');
    for (const [i, id] of ids.doomed.entries()) await offer(id, instrument, `1.${i}0`);
    const customer = await funded();
    const since = await mark(Topic.UsageMetered);
    const id = await submit(customer, { instrument, quantity: '1', work: { type: 'gpu-hours', hours: '1' } });

    const job = await until(customer, id, 'failed');
    // Cheapest first, each on the next provider: the first allocation and three attempts more (DISPATCH_MAX_ATTEMPTS = 3).
    expect(job.allocations.map((a) => [a.providerId, a.run?.status])).toEqual(ids.doomed.map((p) => [p, 'preempted']));
    expect(job.allocations[3]?.run?.reason).toContain('given up after 3 attempt(s)');
    expect(job.reason).toContain('work left undone');
    expect(job.events.filter((e) => e.type === 'requeued')).toHaveLength(3);
    const usage = await usageOf(since, id, 4);
    const ran = [...usage.values()].reduce((a, u) => a + BigInt(u.gpuSeconds ?? '0'), 0n);
    expect(ran).toBeGreaterThan(0n);
    expect(ran).toBeLessThan(3_600n);
  });

  it('sends an allocation it cannot run to the DLQ with why, and answers bad result queries with 4xx', async () => {
    const since = await mark(dlqTopicOf(Topic.Allocations));
    const jobId = randomUUID();
    const orphan: Allocation = {
      allocationId: `${jobId}.1`,
      jobId,
      customerId: 'nobody',
      providerId: ids.steady,
      offerId: 'o-1',
      instrument: 'gpu:t-orphan',
      region: 'us-east-1',
      gridZone: 'PJM',
      quantity: '1',
      computeNanoUsd: '1000000000',
      energyNanoUsd: '0',
      effectiveNanoUsd: '1000000000',
      amountNanoUsd: '1000000000',
      feeNanoUsd: '20000000',
      matchedAt: new Date().toISOString(),
    };
    await produce(Topic.Allocations, [
      { key: jobId, value: Buffer.from(JSON.stringify(orphan)) },
      { key: jobId, value: Buffer.from(JSON.stringify({ ...orphan, allocationId: `${jobId}.2`, quantity: '-1' })) },
    ]);
    // Billing consumes allocations too: it refuses the invalid one as well, and holds for the orphan.
    const dead = await collect(since, (m) => m.key === jobId, (all) => all.some((m) => m.headers[Header.ErrorCode] === 'rejected') && all.length >= 3, 60_000);
    expect(dead.map((m) => m.headers[Header.ErrorCode]).sort()).toEqual(['invalid', 'invalid', 'rejected']);
    expect(dead.find((m) => m.headers[Header.ErrorCode] === 'rejected')?.headers[Header.ErrorDetail]).toContain('is not on record');
    expect(await count(`SELECT count(*) AS n FROM dispatch.allocations WHERE job_id = $1`, [jobId])).toBe(0);

    const get = async (path: string, customer = 'someone') => fetch(`${gateway.url}${path}`, { headers: await auth('customer', customer) });
    expect((await get('/v1/jobs/not-a-uuid/results')).status).toBe(400);
    expect((await get(`/v1/jobs/${randomUUID()}/results`)).status).toBe(404);
    // A real job of this customer, with a cursor this endpoint never issued and a limit out of range.
    const instrument = instrumentFor('gpu', 'badq');
    await offer(ids.steady, instrument, '1.00');
    const customer = await funded();
    const id = await submit(customer, { instrument, quantity: '1', work: { type: 'gpu-hours', hours: '1' } });
    for (const query of ['cursor=bogus', 'limit=0', 'limit=abc', 'extra=1']) {
      const res = await get(`/v1/jobs/${id}/results?${query}`, customer);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});
