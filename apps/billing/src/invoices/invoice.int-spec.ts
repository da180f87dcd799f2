import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';

/** What the database itself keeps true of invoices, tested with raw SQL on the real PostgreSQL. */
describe('billing invoices (PostgreSQL)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'invoice-int-spec', entities: [] }).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  /** Two balanced entries of a fresh grant transaction, committed: their ids. */
  async function entries(): Promise<[string, string]> {
    return db.transaction(async (m) => {
      const [{ tx_id }] = (await m.query(`INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs) VALUES ($1, 'h', 'grant', '{}') RETURNING tx_id`, [randomUUID()])) as [
        { tx_id: string },
      ];
      const rows = (await m.query(
        `INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind) VALUES ($1, 'platform:grants', 'USD', 4, 'grant'), ($1, 'platform:grants', 'USD', -4, 'grant') RETURNING entry_id`,
        [tx_id],
      )) as { entry_id: string }[];
      return rows.map((r) => r.entry_id) as [string, string];
    });
  }

  async function invoice(status: 'draft' | 'final'): Promise<string> {
    const id = `inv:int-${randomUUID().slice(0, 8)}:2026-11`;
    await db.query(`INSERT INTO billing.invoices (invoice_id, customer_id, period) VALUES ($1, $2, '2026-11-01')`, [id, id.split(':')[1]]);
    if (status === 'final') await db.query(`UPDATE billing.invoices SET status = 'final', total_minor = 0, finalized_at = now() WHERE invoice_id = $1`, [id]);
    return id;
  }

  const give = (pairs: readonly [string, string][]) =>
    db.query(`INSERT INTO billing.invoice_entries (entry_id, invoice_id) SELECT * FROM unnest($1::bigint[], $2::text[])`, [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
  const given = async (ids: readonly string[]) => (await db.query(`SELECT count(*)::int AS n FROM billing.invoice_entries WHERE entry_id = ANY($1)`, [ids]))[0].n as number;

  it('gives a charge to a draft, and refuses one to a final invoice, to no invoice, or that is no entry, whole statements at a time', async () => {
    const [e1, e2] = await entries();
    const draft = await invoice('draft');
    const final = await invoice('final');
    await expect(give([[e1, final]])).rejects.toThrow(new RegExp(`invoice ${final} is final`));
    await expect(give([[e1, draft], [e2, 'inv:nobody:2026-11']])).rejects.toThrow(/refer to invoice inv:nobody:2026-11, which does not exist/);
    await expect(give([[e1, draft], ['-5', draft]])).rejects.toThrow(/refer to entry -5, which does not exist/);
    expect(await given([e1, e2])).toBe(0);
    await give([[e1, draft], [e2, draft]]);
    expect(await given([e1, e2])).toBe(2);
  });

  it('never changes, deletes or re-keys what was given, nor re-keys an invoice', async () => {
    const [e1] = await entries();
    const draft = await invoice('draft');
    await give([[e1, draft]]);
    await expect(db.query(`UPDATE billing.invoice_entries SET invoice_id = invoice_id WHERE entry_id = $1`, [e1])).rejects.toThrow(/never updated/);
    await expect(db.query(`DELETE FROM billing.invoice_entries WHERE entry_id = $1`, [e1])).rejects.toThrow(/never deleted/);
    await expect(db.query(`UPDATE billing.invoices SET invoice_id = $2 WHERE invoice_id = $1`, [draft, `${draft}-x`])).rejects.toThrow(/refers to these rows by key: UPDATE refused/);
    // A draft still changes otherwise: it is closed this way.
    await db.query(`UPDATE billing.invoices SET status = 'final', total_minor = 0, finalized_at = now() WHERE invoice_id = $1`, [draft]);
  });
});
