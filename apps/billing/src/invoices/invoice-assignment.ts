import type { EntityManager } from 'typeorm';
import { nextPeriod, type LedgerTransaction } from '#ledger';
import { AppSchema } from '#persistence';

const B = AppSchema.Billing;

export const invoiceIdOf = (customerId: string, period: string): string => `inv:${customerId}:${period.slice(0, 7)}`;

/** The invoice a customer's charges go to, and whether its row exists yet. */
export interface InvoiceTarget {
  readonly invoiceId: string;
  readonly customerId: string;
  /** The first day of its month, `YYYY-MM-DD`. */
  readonly period: string;
  readonly exists: boolean;
}

/**
 * The customer a transaction charges, if it is a charge: a usage or its reversal with lines on
 * the customer's account. Top-ups, grants and roundings are not invoiced. The entries trigger
 * applies the same rule (InvoiceAtPosting1764280000000).
 */
export function chargedCustomer(tx: LedgerTransaction): string | undefined {
  if (tx.kind !== 'usage' && tx.kind !== 'reversal') return undefined;
  const customer = tx.refs.customerId;
  if (customer === undefined) return undefined;
  return tx.lines.some((l) => l.account.startsWith('customer:')) ? customer : undefined;
}

/**
 * Closing an invoice and posting charges take turns: postings share this lock and closing takes
 * it alone, so no charge is decided for an invoice while it is being closed, and a posting waiting
 * for a close reads the invoice as final once it gets the lock.
 */
export async function lockInvoicesShared(m: EntityManager): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock_shared(hashtext('billing.invoices'))`);
}

export async function lockInvoicesExclusive(m: EntityManager): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtext('billing.invoices'))`);
}

/**
 * Where the charges posted now go, per customer: the invoice of this month (UTC, by the database's
 * clock, which also stamps the entries) while it is a draft, else the first later month's that is
 * not final, where they are prior-period lines. Call it in the posting's transaction; it takes the
 * shared lock first, then reads the invoices, so what it read stays true until commit.
 */
export async function invoiceTargets(m: EntityManager, customers: readonly string[]): Promise<Map<string, InvoiceTarget>> {
  const targets = new Map<string, InvoiceTarget>();
  if (customers.length === 0) return targets;
  await lockInvoicesShared(m);
  const rows: { month: string; customer_id: string | null; period: string | null; status: 'draft' | 'final' | null }[] = await m.query(
    `SELECT m.month, i.customer_id, to_char(i.period, 'YYYY-MM-DD') AS period, i.status
       FROM (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-01') AS month) m
       LEFT JOIN "${B}".invoices i ON i.customer_id = ANY($1) AND i.period >= m.month::date`,
    [customers],
  );
  const month = rows[0]?.month as string;
  const known = new Map<string, 'draft' | 'final'>();
  for (const r of rows) if (r.customer_id !== null && r.period !== null && r.status !== null) known.set(`${r.customer_id}\u0000${r.period}`, r.status);
  for (const customerId of customers) {
    let period = month;
    while (known.get(`${customerId}\u0000${period}`) === 'final') period = nextPeriod(period);
    targets.set(customerId, { invoiceId: invoiceIdOf(customerId, period), customerId, period, exists: known.has(`${customerId}\u0000${period}`) });
  }
  return targets;
}

/** Opens the drafts that charges were just given to and that did not exist, in key order (two postings never deadlock on them). */
export async function openInvoices(m: EntityManager, targets: readonly InvoiceTarget[]): Promise<void> {
  const missing = [...new Map(targets.filter((t) => !t.exists).map((t) => [t.invoiceId, t])).values()].sort((a, b) => (a.invoiceId < b.invoiceId ? -1 : 1));
  if (missing.length === 0) return;
  await m.query(
    `INSERT INTO "${B}".invoices (invoice_id, customer_id, period)
     SELECT * FROM unnest($1::text[], $2::text[], $3::date[]) ON CONFLICT (invoice_id) DO NOTHING`,
    [missing.map((t) => t.invoiceId), missing.map((t) => t.customerId), missing.map((t) => t.period)],
  );
}
