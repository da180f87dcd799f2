import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { dlqTopicOf, Topic, type Allocation, type JobEvent, type UsageMetered } from '#contracts';
import { Header } from '#messaging';
import { count, sql } from './support/db.js';
import { collect, mark, produce } from './support/kafka.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { waitFor } from './support/wait.js';
import { auth, serviceAuth } from './support/auth.js';

jest.setTimeout(240_000);

/** Usage into the journal over the real stack: allocations and usage are published by the test. */
describe('billing: usage posted to the journal exactly once', () => {
  let billing = new ServiceProcess('billing');
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url });

  beforeAll(async () => {
    await startAll([billing, gateway]);
  });

  afterAll(async () => {
    await stopAll([billing, gateway]);
  });

  const customer = () => `cust-${randomUUID().slice(0, 8)}`;

  function allocation(customerId: string, patch: Partial<Allocation> = {}): Allocation {
    const jobId = randomUUID();
    return {
      allocationId: `${jobId}.1`,
      jobId,
      customerId,
      providerId: 'prov-billing',
      offerId: 'us-east-1-1',
      instrument: 'gpu:h100',
      region: 'us-east-1',
      gridZone: 'PJM',
      quantity: '1',
      computeNanoUsd: '2000000000',
      energyNanoUsd: '100000000',
      effectiveNanoUsd: '2100000000',
      amountNanoUsd: '2100000000',
      feeNanoUsd: '42000000',
      matchedAt: new Date().toISOString(),
      ...patch,
    };
  }

  function usage(a: Allocation, seconds: number, patch: Partial<UsageMetered> = {}): UsageMetered {
    return {
      usageId: randomUUID(),
      allocationId: a.allocationId,
      jobId: a.jobId,
      customerId: a.customerId,
      providerId: a.providerId,
      instrument: a.instrument,
      inputTokens: null,
      outputTokens: null,
      gpuSeconds: String(seconds),
      energyKwh: null,
      startedAt: new Date(Date.now() - seconds * 1_000).toISOString(),
      endedAt: new Date().toISOString(),
      ...patch,
    };
  }

  const send = (topic: string, messages: { key: string; value: unknown }[]) => produce(topic, messages.map((m) => ({ key: m.key, value: JSON.stringify(m.value) })));
  const allocate = (a: Allocation) => send(Topic.Allocations, [{ key: a.jobId, value: a }]);
  const meter = (...u: UsageMetered[]) => send(Topic.UsageMetered, u.map((x) => ({ key: x.customerId, value: x })));

  async function balance(account: string): Promise<bigint> {
    const rows = await sql<{ balance: string }>(`SELECT balance FROM billing.balances WHERE account_id = $1`, [account]);
    return BigInt(rows[0]?.balance ?? '0');
  }

  const posted = (usageIds: readonly string[]) => count(`SELECT count(*) AS n FROM billing.usage_postings WHERE usage_id = ANY($1)`, [usageIds]);

  it('posts usage at its allocation prices once, captures it on the hold, and settles the hold when the job ends', async () => {
    const c = customer();
    const a = allocation(c);
    await allocate(a);
    const u = usage(a, 1_800);
    await meter(u, u);
    await waitFor('the usage posted', async () => ((await posted([u.usageId])) === 1 ? true : undefined), 30_000, 100);
    // 0.5 h × ($2.00 + $0.10) = $1.05, + 2% fee = $1.071, debited to the customer.
    expect(await balance(`customer:${c}`)).toBe(1_071_000_000n);
    const lines = await sql<{ kind: string; amount: string; job_id: string }>(
      `SELECT e.kind, e.amount, t.job_id FROM billing.entries e JOIN billing.transactions t USING (tx_id) WHERE t.idempotency_key = $1 ORDER BY e.entry_id`,
      [`usage:${u.usageId}`],
    );
    expect(lines.map((l) => [l.kind, l.amount])).toEqual([
      ['compute', '1000000000'],
      ['energy', '50000000'],
      ['fee', '21000000'],
      ['compute', '-1000000000'],
      ['energy', '-50000000'],
      ['fee', '-21000000'],
    ]);
    expect(lines.every((l) => l.job_id === a.jobId)).toBe(true);
    expect(await sql(`SELECT status, amount, captured FROM billing.holds WHERE hold_id = $1`, [a.allocationId])).toEqual([{ status: 'open', amount: '2142000000', captured: '1071000000' }]);

    const done: JobEvent = { eventId: `${a.jobId}.9`, jobId: a.jobId, customerId: c, type: 'completed', status: 'completed', reason: null, quantity: '1', filledQuantity: '1', allocationIds: [a.allocationId], until: null, at: new Date().toISOString() };
    await send(Topic.JobEvents, [{ key: a.jobId, value: done }]);
    await waitFor('the hold settled', async () => ((await count(`SELECT count(*) AS n FROM billing.holds WHERE hold_id = $1 AND status = 'settled'`, [a.allocationId])) === 1 ? true : undefined), 30_000, 100);
  });

  it('keeps usage that comes before its allocation, and posts it when the allocation arrives', async () => {
    const a = allocation(customer());
    const early = usage(a, 3_600);
    const second = usage(a, 1_800);
    // Parked together: a redelivered copy changes nothing, the same id with another body is a conflict.
    await meter(early, early, { ...early, gpuSeconds: '7200' }, second);
    const parked = () => count(`SELECT count(*) AS n FROM billing.pending_usage WHERE usage_id = ANY($1)`, [[early.usageId, second.usageId]]);
    await waitFor('usage parked', async () => ((await parked()) === 2 ? true : undefined), 30_000, 100);
    await waitFor('the twin recorded', async () => ((await count(`SELECT count(*) AS n FROM billing.posting_conflicts WHERE idempotency_key = $1`, [`usage:${early.usageId}`])) === 1 ? true : undefined), 30_000, 100);
    expect(await sql<{ s: string }>(`SELECT payload->>'gpuSeconds' AS s FROM billing.pending_usage WHERE usage_id = $1`, [early.usageId])).toEqual([{ s: '3600' }]);
    await allocate(a);
    await waitFor('the early usage posted', async () => ((await posted([early.usageId, second.usageId])) === 2 ? true : undefined), 30_000, 100);
    expect(await parked()).toBe(0);
    // 1.5 h at the allocation's prices, charged once: what the first body said, not the twin's.
    const charged = await sql<{ s: string }>(`SELECT sum(amount)::text AS s FROM billing.entries WHERE account_id = $1 AND kind IN ('compute', 'energy')`, [`customer:${a.customerId}`]);
    const perHour = BigInt(a.computeNanoUsd) + BigInt(a.energyNanoUsd);
    expect(charged).toEqual([{ s: ((perHour * 3n) / 2n).toString() }]);
  });

  it('records the same usage id with another body as a conflict, and refuses usage that is not its allocation', async () => {
    const a = allocation(customer());
    await allocate(a);
    const u = usage(a, 60);
    await meter(u);
    await waitFor('posted', async () => ((await posted([u.usageId])) === 1 ? true : undefined), 30_000, 100);
    const before = await balance(`customer:${a.customerId}`);
    const since = await mark(dlqTopicOf(Topic.UsageMetered));
    const stranger = usage(a, 60, { customerId: customer() });
    await meter({ ...u, gpuSeconds: '6000' }, stranger);
    await waitFor('the conflict recorded', async () => ((await count(`SELECT count(*) AS n FROM billing.posting_conflicts WHERE idempotency_key = $1`, [`usage:${u.usageId}`])) === 1 ? true : undefined), 30_000, 100);
    expect(await balance(`customer:${a.customerId}`)).toBe(before);
    const dead = await collect(since, (m) => m.key === stranger.customerId, (all) => all.length >= 1);
    expect(dead[0]?.headers[Header.ErrorCode]).toBe('rejected');
    expect(dead[0]?.headers[Header.ErrorDetail]).toMatch(/belongs to/);
  });

  it('serves finance: entries by job with a cursor, the same as CSV, balances, reconciliation, and a read-only BI role', async () => {
    type Reconciliation = {
      journal: { sumNanoUsd: string; unbalancedTransactions: number };
      usage: { events: number; eventsChargedNanoUsd: string; chargedNanoUsd: string; transactionsNotMatchingEvents: number };
    };
    const reconcile = async () => (await (await fetch(`${gateway.url}/v1/finance/reconciliation`, { headers: await auth('finance', 'finance-e2e') })).json()) as Reconciliation;
    // Other suites post usage into this database too: the event counts are compared before and after.
    const before = await reconcile();
    const a = allocation(customer());
    await allocate(a);
    const u = usage(a, 3_600);
    await meter(u);
    await waitFor('posted', async () => ((await posted([u.usageId])) === 1 ? true : undefined), 30_000, 100);

    const first = (await (await fetch(`${gateway.url}/v1/finance/entries?job=${a.jobId}&limit=4`, { headers: await auth('finance', 'finance-e2e') })).json()) as { items: { amountNanoUsd: string; kind: string }[]; nextCursor: string | null };
    expect(first.items).toHaveLength(4);
    expect(first.nextCursor).not.toBeNull();
    const rest = (await (await fetch(`${gateway.url}/v1/finance/entries?job=${a.jobId}&limit=4&cursor=${first.nextCursor}`, { headers: await auth('finance', 'finance-e2e') })).json()) as typeof first;
    expect(rest.items).toHaveLength(2);
    expect(rest.nextCursor).toBeNull();
    expect([...first.items, ...rest.items].reduce((s, e) => s + BigInt(e.amountNanoUsd), 0n)).toBe(0n);

    const csv = await fetch(`${gateway.url}/v1/finance/entries.csv?customer=${a.customerId}`, { headers: await auth('finance', 'finance-e2e') });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toMatch(/^entry_id,tx_id,transaction_key/);
    // Every line of a transaction is traceable to its customer, the provider's and the platform's too.
    expect(lines).toHaveLength(1 + 6);

    const balances = (await (await fetch(`${gateway.url}/v1/finance/balances?customer=${a.customerId}`, { headers: await auth('finance', 'finance-e2e') })).json()) as { items: { balanceNanoUsd: string }[] };
    // 1 h × $2.10 + 2% = $2.142, owed by the customer.
    expect(balances.items).toEqual([expect.objectContaining({ balanceNanoUsd: '-2142000000' })]);

    const reconciliation = await reconcile();
    expect(reconciliation.journal).toEqual({ sumNanoUsd: '0', unbalancedTransactions: 0 });
    // The event is in the sub-ledger, its transaction is the sum of its events, and the events' charges moved with the journal's.
    expect(reconciliation.usage.events).toBeGreaterThan(before.usage.events);
    expect(reconciliation.usage.transactionsNotMatchingEvents).toBe(0);
    expect(BigInt(reconciliation.usage.chargedNanoUsd) - BigInt(before.usage.chargedNanoUsd)).toBe(BigInt(reconciliation.usage.eventsChargedNanoUsd) - BigInt(before.usage.eventsChargedNanoUsd));

    // The usage event itself: its own amounts and the transaction that posted it; another customer's is not found.
    const one = await fetch(`${gateway.url}/v1/finance/usage/${encodeURIComponent(u.usageId)}`, { headers: await auth('finance', 'finance-e2e') });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ usageId: u.usageId, allocationId: a.allocationId, jobId: a.jobId, computeNanoUsd: '2000000000', energyNanoUsd: '100000000', feeNanoUsd: '42000000', chargedNanoUsd: '2142000000', charged: '2.142' });
    expect((await fetch(`${gateway.url}/v1/finance/usage/${encodeURIComponent(u.usageId)}`, { headers: await auth('customer', a.customerId) })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/finance/usage/${encodeURIComponent(u.usageId)}`, { headers: await auth('customer', customer()) })).status).toBe(404);
    expect((await fetch(`${gateway.url}/v1/finance/usage/${encodeURIComponent(u.usageId)}`, { headers: await auth('provider', a.providerId) })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/finance/usage/${encodeURIComponent(u.usageId)}`, { headers: await auth('provider', 'prov-someone-else') })).status).toBe(404);
    expect((await fetch(`${gateway.url}/v1/finance/usage/${'x'.repeat(201)}`, { headers: await auth('finance', 'finance-e2e') })).status).toBe(400);

    // BI tools read the bi schema and nothing else, and write nothing.
    const asBi = async (statement: string) => {
      const client = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
      await client.connect();
      try {
        await client.query('SET ROLE spotgrid_bi');
        return (await client.query(statement)).rows;
      } finally {
        await client.end();
      }
    };
    expect(await asBi(`SELECT count(*)::int AS n FROM bi.journal_entries WHERE job_id = '${a.jobId}'`)).toEqual([{ n: 6 }]);
    expect(await asBi(`SELECT charged_nano_usd::text AS c FROM bi.usage_postings WHERE job_id = '${a.jobId}'`)).toEqual([{ c: '2142000000' }]);
    await expect(asBi(`SELECT count(*) FROM billing.entries`)).rejects.toThrow(/permission denied/);
    await expect(asBi(`INSERT INTO billing.assets VALUES ('EUR', 9)`)).rejects.toThrow(/permission denied/);
  });

  it('invoices each customer per month: a draft that adds up to the journal, closed into a final nothing can change, later usage on the next as prior-period lines', async () => {
    const c = customer();
    const a = allocation(c);
    await allocate(a);
    // 1,801 s at $2.10/h: amounts that do not fall on cents, so the rounding rule shows.
    const u1 = usage(a, 1_801);
    await meter(u1);
    await waitFor('the usage posted', async () => ((await posted([u1.usageId])) === 1 ? true : undefined), 30_000, 100);

    // The month the journal posted it in (not the test's clock, which may have crossed midnight since).
    const [{ month }] = (await sql<{ month: string }>(`SELECT to_char(min(posted_at) AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM billing.transactions WHERE customer_id = $1`, [c])) as [{ month: string }];
    const id = `inv:${c}:${month}`;
    const get = async <T>(path: string) => {
      const res = await fetch(`${gateway.url}${path}`, { headers: await auth('finance', 'finance-e2e') });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    };
    type Invoice = { invoiceId: string; status: string; period: string; totalMinor: string; exactNanoUsd: string; roundingNanoUsd: string; lines: { kind: string; jobId: string; priorPeriod: boolean; description: string; amountNanoUsd: string; amountMinor: string }[] };
    const list = await get<{ items: Invoice[] }>(`/v1/finance/invoices?customer=${c}`);
    expect(list.items).toEqual([expect.objectContaining({ invoiceId: id, status: 'draft', period: month })]);
    const draft = await get<Invoice>(`/v1/finance/invoices/${encodeURIComponent(id)}`);
    // 0.500277… h × $2.00 = $1.000555556, × $0.10 = $0.050027778, fee 2% of the sum = $0.021011667.
    expect(draft.lines.map((l) => [l.kind, l.amountNanoUsd, l.amountMinor])).toEqual([
      ['compute', '1000555556', '100'],
      ['energy', '50027778', '5'],
      ['fee', '21011667', '2'],
    ]);
    const journal = await sql<{ s: string }>(`SELECT sum(amount)::text AS s FROM billing.entries WHERE account_id = $1 AND kind IN ('compute', 'energy', 'fee')`, [`customer:${c}`]);
    // The invoice's exact sum is the journal's, and its total is the sum of its rounded lines.
    expect(draft.exactNanoUsd).toBe(journal[0]?.s);
    expect(draft.totalMinor).toBe(String(draft.lines.reduce((t, l) => t + Number(l.amountMinor), 0)));
    expect(draft.totalMinor).toBe('107');

    // Closing early is an admin's action, through the gateway; finance may read but not close.
    const close = async (role: 'finance' | 'admin') =>
      fetch(`${gateway.url}/v1/admin/invoices/${encodeURIComponent(id)}/finalize`, { method: 'POST', headers: await auth(role, `${role}-e2e`) });
    expect((await close('finance')).status).toBe(403);
    expect((await close('admin')).status).toBe(200);
    const final = await get<Invoice>(`/v1/finance/invoices/${encodeURIComponent(id)}`);
    expect(final).toEqual({ ...draft, status: 'final', finalizedAt: expect.any(String) });
    // The rounding went to the rounding account: the customer now owes exactly the invoice.
    expect(await balance(`customer:${c}`)).toBe(1_070_000_000n);
    await expect(sql(`UPDATE billing.invoice_lines SET amount_minor = 0 WHERE invoice_id = $1`, [id])).rejects.toThrow(/never updated/);
    await expect(sql(`UPDATE billing.invoices SET total_minor = 0 WHERE invoice_id = $1`, [id])).rejects.toThrow(/is final/);
    await expect(sql(`DELETE FROM billing.invoices WHERE invoice_id = $1`, [id])).rejects.toThrow(/never deleted/);
    await expect(sql(`TRUNCATE billing.invoice_lines`)).rejects.toThrow(/never deleted/);
    // The charges stay on it: their transactions name it, and the journal is append-only.
    await expect(sql(`UPDATE billing.transactions SET invoice_id = NULL WHERE invoice_id = $1`, [id])).rejects.toThrow(/append-only/);

    // Usage posted after the month closed lands on the next month's invoice, as prior-period lines.
    const u2 = usage(a, 600);
    await meter(u2);
    await waitFor('the late usage posted', async () => ((await posted([u2.usageId])) === 1 ? true : undefined), 30_000, 100);
    const [year, mm] = month.split('-').map(Number) as [number, number];
    const next = mm === 12 ? `${year + 1}-01` : `${year}-${String(mm + 1).padStart(2, '0')}`;
    const late = await get<Invoice>(`/v1/finance/invoices/${encodeURIComponent(`inv:${c}:${next}`)}`);
    expect(late.status).toBe('draft');
    expect(late.lines.map((l) => [l.kind, l.priorPeriod, l.amountNanoUsd])).toEqual([
      ['compute', true, '333333333'],
      ['energy', true, '16666667'],
      ['fee', true, '7000000'],
    ]);
    expect(late.lines[0]?.description).toContain(`(used in ${month})`);
    // The list gives each invoice the totals of its own page: a final one's stored, a draft's from its lines.
    const both = await get<{ items: Invoice[] }>(`/v1/finance/invoices?customer=${c}`);
    expect(both.items.map((i) => [i.invoiceId, i.status, i.totalMinor, i.exactNanoUsd])).toEqual([
      [`inv:${c}:${next}`, 'draft', late.totalMinor, late.exactNanoUsd],
      [id, 'final', final.totalMinor, final.exactNanoUsd],
    ]);
    // The closed invoice did not change.
    expect(await get<Invoice>(`/v1/finance/invoices/${encodeURIComponent(id)}`)).toEqual(final);

    const csv = await fetch(`${gateway.url}/v1/finance/invoices/${encodeURIComponent(id)}/csv`, { headers: await auth('finance', 'finance-e2e') });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text.split('\n')[0]).toBe('line,description,job_id,kind,usage_month,prior_period,amount_nano_usd,amount_usd');
    expect(text).toContain(',total,,,,,,1.07');

    const statement = await get<{ lines: { jobId: string; kind: string; amountNanoUsd: string }[]; totalNanoUsd: string }>(`/v1/finance/statements?provider=prov-billing&period=${month}`);
    expect(statement.lines.filter((l) => l.jobId === a.jobId).map((l) => [l.kind, l.amountNanoUsd])).toEqual([
      ['compute', String(1_000_555_556 + 333_333_333)],
      ['energy', String(50_027_778 + 16_666_667)],
    ]);
    expect((await fetch(`${gateway.url}/v1/finance/statements?provider=prov-billing&period=2026-13`, { headers: await auth('finance', 'finance-e2e') })).status).toBe(400);
    // Bad requests are 4xx and change nothing.
    expect((await fetch(`${billing.url}/v1/invoices/nope/finalize`, { method: 'POST', headers: serviceAuth() })).status).toBe(400);
    expect((await fetch(`${billing.url}/v1/invoices/${encodeURIComponent('inv:nobody:2020-01')}/finalize`, { method: 'POST', headers: serviceAuth() })).status).toBe(404);
    expect((await fetch(`${gateway.url}/v1/finance/invoices/${encodeURIComponent('inv:nobody:2020-01')}`, { headers: await auth('finance', 'finance-e2e') })).status).toBe(404);
    expect((await fetch(`${gateway.url}/v1/finance/invoices?period=2026-1`, { headers: await auth('finance', 'finance-e2e') })).status).toBe(400);
    expect(await count(`SELECT count(*) AS n FROM billing.invoices WHERE customer_id = 'nobody'`)).toBe(0);
  });

  it('loses and duplicates nothing when billing is killed mid-stream and restarted', async () => {
    const a = allocation(customer(), { quantity: '1000' });
    await allocate(a);
    const events = Array.from({ length: 2_000 }, () => usage(a, 36));
    const producing = (async () => {
      for (let i = 0; i < events.length; i += 200) await meter(...events.slice(i, i + 200), ...events.slice(i, i + 20));
    })();
    const ids = events.map((e) => e.usageId);
    await waitFor('some usage posted', async () => ((await posted(ids)) > 0 ? true : undefined), 60_000, 20);
    await billing.stop('SIGKILL');
    await producing;
    billing = new ServiceProcess('billing').start();
    await billing.ready();
    await waitFor('all usage posted', async () => ((await posted(ids)) === events.length ? true : undefined), 120_000, 250);
    // 2,000 × 36 s at $2.10/h = $42.00, + 2% = $42.84.
    expect(await balance(`customer:${a.customerId}`)).toBe(42_840_000_000n);
    const unbalanced = await sql(`SELECT tx_id FROM billing.entries GROUP BY tx_id, asset HAVING sum(amount) <> 0`);
    expect(unbalanced).toEqual([]);
    // Posted in batches of the allocation's usage, each event once, its amounts the journal's.
    const [postings] = await sql<{ events: number; transactions: number; charged: string }>(
      `SELECT count(*)::int AS events, count(DISTINCT tx_id)::int AS transactions, sum(charged_nano_usd)::text AS charged FROM gateway.billing_usage WHERE allocation_id = $1`,
      [a.allocationId],
    );
    expect(postings).toMatchObject({ events: events.length, charged: '42840000000' });
    expect(postings?.transactions).toBeLessThan(events.length);
  });
});
