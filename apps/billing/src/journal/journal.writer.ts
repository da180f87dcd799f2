import { hash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { assertBalanced, type LedgerTransaction } from '#ledger';
import { AppSchema } from '#persistence';
import { chargedCustomer, invoiceTargets, openInvoices, type InvoiceTarget } from '../invoices/invoice-assignment.js';

const B = AppSchema.Billing;

export type PostOutcome = { readonly kind: 'posted'; readonly txId: string } | { readonly kind: 'duplicate'; readonly txId: string } | { readonly kind: 'conflict' };

/**
 * The canonical hash of what a transaction says (its key excluded): same key + other body = conflict.
 * The body is the JSON of `{ kind, reverses, refs (keys sorted), lines: [account, asset, amount,
 * kind] }`, written here string by string: building that object and stringifying it was most of
 * billing's CPU per usage event, and every stored hash is of exactly these bytes (a unit test
 * holds this writer to `JSON.stringify` of the object).
 */
export function transactionHash(tx: LedgerTransaction): string {
  const refs = tx.refs as Readonly<Record<string, string | undefined>>;
  let refsJson = '';
  for (const k of Object.keys(refs).sort()) {
    const v = refs[k];
    if (v !== undefined) refsJson += `${refsJson === '' ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  let lines = '';
  for (const l of tx.lines) lines += `${lines === '' ? '' : ','}[${JSON.stringify(l.account)},${JSON.stringify(l.asset)},"${l.amount}",${JSON.stringify(l.kind)}]`;
  const reverses = tx.reverses === undefined ? 'null' : JSON.stringify(tx.reverses);
  return hash('sha256', `{"kind":${JSON.stringify(tx.kind)},"reverses":${reverses},"refs":{${refsJson}},"lines":[${lines}]}`);
}

/** A posting refused because its key was posted with another body: both hashes, for review. */
export interface Conflict {
  readonly tx: LedgerTransaction;
  readonly hash: string;
  readonly existing: string;
}

/** Records refused postings in `posting_conflicts`, one statement for all. */
export async function recordConflicts(manager: EntityManager, conflicts: readonly Conflict[], source: string): Promise<void> {
  if (conflicts.length === 0) return;
  await manager.query(
    `INSERT INTO "${B}".posting_conflicts (idempotency_key, request_hash, existing_hash, source, payload)
     SELECT key, hash, existing, $2, payload::jsonb FROM json_to_recordset($1::json) AS x(key text, hash text, existing text, payload text)`,
    [
      JSON.stringify(
        conflicts.map(({ tx, hash, existing }) => ({ key: tx.key, hash, existing, payload: JSON.stringify({ ...tx, lines: tx.lines.map((l) => ({ ...l, amount: l.amount.toString() })) }) })),
      ),
      source,
    ],
  );
}

/** Posts one transaction: see `postTransactions`. */
export async function postTransaction(manager: EntityManager, tx: LedgerTransaction, source: string): Promise<PostOutcome> {
  const [outcome] = await postTransactions(manager, [tx], source);
  return outcome as PostOutcome;
}

/**
 * Posts transactions in the caller's database transaction, a batch at a time: one statement for
 * the headers (a key already posted inserts nothing), one for the accounts opened on first use,
 * one for all the entries (whose trigger moves the balances). A charge names its invoice in its
 * header, decided here (two more statements when the batch has charges, a third when it opens a
 * month's invoice). The database checks at commit that each balances. A key already posted with
 * the same body is a duplicate (no effect); with another body it is recorded in
 * `posting_conflicts` for review, and nothing is posted for it. Outcomes come back in the order
 * of the input.
 */
export async function postTransactions(manager: EntityManager, txs: readonly LedgerTransaction[], source: string): Promise<PostOutcome[]> {
  if (txs.length === 0) return [];
  const hashes = txs.map((tx) => {
    assertBalanced(tx);
    return transactionHash(tx);
  });
  // Within the batch the first copy of a key is the one posted; the others are judged against it.
  const firstOf = new Map<string, number>();
  txs.forEach((tx, i) => {
    if (!firstOf.has(tx.key)) firstOf.set(tx.key, i);
  });
  const heads = [...firstOf.values()].map((i) => txs[i] as LedgerTransaction);
  const charged = heads.map(chargedCustomer);
  const invoices = await invoiceTargets(manager, [...new Set(charged.filter((c) => c !== undefined))]);
  const inserted: { tx_id: string; idempotency_key: string }[] = await manager.query(
    `INSERT INTO "${B}".transactions (idempotency_key, request_hash, kind, reverses, refs, invoice_id, customer_id, provider_id, job_id)
     SELECT x.key, x.hash, x.kind, r.tx_id, x.refs, x.invoice, x.refs->>'customerId', x.refs->>'providerId', x.refs->>'jobId'
       FROM ROWS FROM (json_to_recordset($1::json) AS (key text, hash text, kind text, reverses text, refs jsonb, invoice text))
            WITH ORDINALITY AS x(key, hash, kind, reverses, refs, invoice, n)
       LEFT JOIN "${B}".transactions r ON r.idempotency_key = x.reverses
      ORDER BY x.n
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING tx_id, idempotency_key`,
    [
      JSON.stringify(
        heads.map((tx, h) => ({
          key: tx.key,
          hash: hashes[firstOf.get(tx.key) as number],
          kind: tx.kind,
          reverses: tx.reverses ?? null,
          refs: tx.refs,
          invoice: invoices.get(charged[h] as string)?.invoiceId ?? null,
        })),
      ),
    ],
  );
  const posted = new Map(inserted.map((r) => [r.idempotency_key, r.tx_id]));
  // Only a charge actually posted opens its month's invoice: a batch of redeliveries opens none.
  await openInvoices(
    manager,
    heads.flatMap((tx, h) => (posted.has(tx.key) && charged[h] !== undefined ? [invoices.get(charged[h]) as InvoiceTarget] : [])),
  );
  const earlierKeys = txs.map((tx) => tx.key).filter((k) => !posted.has(k));
  const earlier = new Map<string, { tx_id: string; request_hash: string }>();
  if (earlierKeys.length > 0) {
    const rows: { tx_id: string; request_hash: string; idempotency_key: string }[] = await manager.query(
      `SELECT tx_id, request_hash, idempotency_key FROM "${B}".transactions WHERE idempotency_key = ANY($1)`,
      [[...new Set(earlierKeys)]],
    );
    for (const r of rows) earlier.set(r.idempotency_key, r);
  }

  const outcomes: PostOutcome[] = [];
  const conflicts: Conflict[] = [];
  const toEnter: LedgerTransaction[] = [];
  txs.forEach((tx, i) => {
    const hash = hashes[i] as string;
    const fresh = posted.get(tx.key);
    if (fresh !== undefined && firstOf.get(tx.key) === i) {
      outcomes.push({ kind: 'posted', txId: fresh });
      toEnter.push(tx);
      return;
    }
    const existingHash = fresh !== undefined ? hashes[firstOf.get(tx.key) as number] : earlier.get(tx.key)?.request_hash;
    const existingId = fresh ?? earlier.get(tx.key)?.tx_id;
    if (existingHash === hash && existingId !== undefined) {
      outcomes.push({ kind: 'duplicate', txId: existingId });
      return;
    }
    conflicts.push({ tx, hash, existing: existingHash ?? '' });
    outcomes.push({ kind: 'conflict' });
  });

  await recordConflicts(manager, conflicts, source);
  if (toEnter.length === 0) return outcomes;
  // Sorted: concurrent postings take the account rows in one order, so they queue, never deadlock.
  const accounts = [...new Set(toEnter.flatMap((tx) => tx.lines.map((l) => l.account)))].sort();
  await manager.query(
    `INSERT INTO "${B}".accounts (account_id, kind, owner_id, asset)
     SELECT a, split_part(a, ':', 1), substr(a, strpos(a, ':') + 1), 'USD' FROM unnest($1::text[]) AS a
     ON CONFLICT (account_id) DO NOTHING`,
    [accounts],
  );
  await manager.query(
    `INSERT INTO "${B}".entries (tx_id, account_id, asset, amount, kind)
     SELECT tx_id, account_id, asset, amount, kind FROM json_to_recordset($1::json) AS x(tx_id bigint, account_id text, asset text, amount bigint, kind text)`,
    [
      JSON.stringify(
        toEnter.flatMap((tx) =>
          tx.lines.map((l) => ({
            tx_id: posted.get(tx.key),
            account_id: l.account,
            asset: l.asset,
            amount: l.amount.toString(),
            kind: l.kind,
          })),
        ),
      ),
    ],
  );
  return outcomes;
}
