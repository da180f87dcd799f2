import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { usageEvent } from '../usage/usage-event.fixture.js';
import { postUsages, type AllocationPrices } from '../usage/usage-posting.js';

/** What the database itself keeps true of invoices, tested with raw SQL on the real PostgreSQL. */
describe('billing invoices (PostgreSQL)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'invoice-int-spec', entities: [] }).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  const customer = () => `int-${randomUUID().slice(0, 8)}`;

  async function invoice(customerId: string, status: 'draft' | 'final', period = '2026-11-01'): Promise<string> {
    const id = `inv:${customerId}:${period.slice(0, 7)}`;
    await db.query(`INSERT INTO billing.invoices (invoice_id, customer_id, period) VALUES ($1, $2, $3)`, [id, customerId, period]);
    if (status === 'final') await db.query(`UPDATE billing.invoices SET status = 'final', total_minor = 0, finalized_at = now() WHERE invoice_id = $1`, [id]);
    return id;
  }

  interface RawTx {
    readonly kind?: 'usage' | 'grant';
    readonly customerId: string;
    readonly invoiceId: string | null;
  }

  /** Raw transactions (a 4-nano charge each: the customer's account against the provider's), all entries in one statement, committed or refused whole. */
  async function post(txs: readonly RawTx[]): Promise<void> {
    await db.transaction(async (m) => {
      const accounts = [...new Set(txs.flatMap((t) => [`customer:${t.customerId}`, 'provider:int-p']))];
      await m.query(`INSERT INTO billing.accounts (account_id, kind, owner_id, asset) SELECT a, split_part(a, ':', 1), split_part(a, ':', 2), 'USD' FROM unnest($1::text[]) a ON CONFLICT DO NOTHING`, [accounts]);
      const entries: { tx_id: string; account_id: string; amount: number }[] = [];
      for (const t of txs) {
        const [{ tx_id }] = (await m.query(`INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs, invoice_id, customer_id) VALUES ($1, 'h', $2, $3, $4, $5) RETURNING tx_id`, [
          randomUUID(),
          t.kind ?? 'usage',
          JSON.stringify({ customerId: t.customerId }),
          t.invoiceId,
          t.customerId,
        ])) as [{ tx_id: string }];
        entries.push({ tx_id, account_id: `customer:${t.customerId}`, amount: 4 }, { tx_id, account_id: 'provider:int-p', amount: -4 });
      }
      await m.query(
        `INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind)
         SELECT tx_id, account_id, 'USD', amount, 'compute' FROM json_to_recordset($1::json) AS x(tx_id bigint, account_id text, amount bigint)`,
        [JSON.stringify(entries)],
      );
      // A usage transaction posts usage events (the sub-ledger): one of 4 nano-USD compute each.
      await m.query(
        `INSERT INTO billing.usage_postings (usage_id, tx_id, compute_nano_usd, energy_nano_usd, fee_nano_usd)
         SELECT gen_random_uuid()::text, t.tx_id, 4, 0, 0 FROM billing.transactions t WHERE t.tx_id = ANY($1) AND t.kind = 'usage'`,
        [[...new Set(entries.map((e) => e.tx_id))]],
      );
    });
  }

  const charges = async (invoiceId: string) => (await db.query(`SELECT count(*)::int AS n FROM billing.transactions WHERE invoice_id = $1`, [invoiceId]))[0].n as number;

  it('puts a charge on its customer’s draft, and refuses one on a final invoice, on none, on a missing or another customer’s invoice, whole statements at a time', async () => {
    const c = customer();
    const other = customer();
    const draft = await invoice(c, 'draft');
    const final = await invoice(customer(), 'final');
    const othersDraft = await invoice(other, 'draft');
    await expect(post([{ customerId: c, invoiceId: draft }, { customerId: c, invoiceId: null }])).rejects.toThrow(new RegExp(`charges customer ${c} but names no invoice`));
    await expect(post([{ customerId: c, invoiceId: draft }, { customerId: c, invoiceId: `inv:${c}:1999-01` }])).rejects.toThrow(new RegExp(`refers to invoice inv:${c}:1999-01, which does not exist`));
    await expect(post([{ customerId: final.split(':')[1] as string, invoiceId: final }])).rejects.toThrow(new RegExp(`invoice ${final} is final`));
    await expect(post([{ customerId: c, invoiceId: othersDraft }])).rejects.toThrow(new RegExp(`charges customer ${c}, but invoice ${othersDraft} is customer ${other}'s`));
    await expect(post([{ kind: 'grant', customerId: c, invoiceId: draft }])).rejects.toThrow(/is a grant, not a charge/);
    expect(await charges(draft)).toBe(0);
    await post([{ customerId: c, invoiceId: draft }, { customerId: c, invoiceId: draft }]);
    expect(await charges(draft)).toBe(2);
    // What is not a charge names no invoice.
    await post([{ kind: 'grant', customerId: c, invoiceId: null }]);
  });

  it('never moves a charge off its invoice, nor re-keys an invoice', async () => {
    const c = customer();
    const draft = await invoice(c, 'draft');
    await post([{ customerId: c, invoiceId: draft }]);
    await expect(db.query(`UPDATE billing.transactions SET invoice_id = NULL WHERE invoice_id = $1`, [draft])).rejects.toThrow(/append-only/);
    await expect(db.query(`UPDATE billing.invoices SET invoice_id = $2 WHERE invoice_id = $1`, [draft, `${draft}-x`])).rejects.toThrow(/refers to these rows by key: UPDATE refused/);
    // A draft still changes otherwise: it is closed this way.
    await db.query(`UPDATE billing.invoices SET status = 'final', total_minor = 0, finalized_at = now() WHERE invoice_id = $1`, [draft]);
  });

  it('gives posted charges to this month’s draft, opened on first use, or to the first later month not final; a redelivery opens nothing', async () => {
    const c = customer();
    const allocation: AllocationPrices = { allocation_id: `${c}-a.1`, job_id: `${c}-a`, customer_id: c, provider_id: 'int-p', instrument: 'gpu:h100', compute_nano_usd: '2000000000', energy_nano_usd: '100000000' };
    const usage = (n: number) => ({ usage: usageEvent(allocation, `${c}-u${n}`, 3_600), allocation });
    const [{ month }] = (await db.query(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-01') AS month`)) as [{ month: string }];
    // Two events of one allocation in one batch are one journal transaction: one charge on the invoice.
    const post = (items: ReturnType<typeof usage>[]) => db.transaction((m) => postUsages(m, items, 200));
    const invoices = async () => (await db.query(`SELECT invoice_id FROM billing.invoices WHERE customer_id = $1 ORDER BY period`, [c])).map((r: { invoice_id: string }) => r.invoice_id) as string[];

    expect((await post([usage(1), usage(2)])).map((o) => o.kind)).toEqual(['posted', 'posted']);
    const thisMonth = `inv:${c}:${month.slice(0, 7)}`;
    expect(await invoices()).toEqual([thisMonth]);
    expect(await charges(thisMonth)).toBe(1);

    // This month closed: the next charge goes to next month's draft; a redelivery of the first opens nothing more.
    await db.query(`UPDATE billing.invoices SET status = 'final', total_minor = 0, finalized_at = now() WHERE invoice_id = $1`, [thisMonth]);
    const [year, mm] = month.split('-').map(Number) as [number, number];
    const nextMonth = `inv:${c}:${mm === 12 ? `${year + 1}-01` : `${year}-${String(mm + 1).padStart(2, '0')}`}`;
    expect((await post([usage(1)])).map((o) => o.kind)).toEqual(['duplicate']);
    expect(await invoices()).toEqual([thisMonth]);
    expect((await post([usage(3)])).map((o) => o.kind)).toEqual(['posted']);
    expect(await invoices()).toEqual([thisMonth, nextMonth]);
    expect([await charges(thisMonth), await charges(nextMonth)]).toEqual([1, 1]);
  });
});
