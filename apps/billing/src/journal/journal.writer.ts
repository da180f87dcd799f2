import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { assertBalanced, type LedgerTransaction } from '#ledger';
import { AppSchema } from '#persistence';

const B = AppSchema.Billing;

export type PostOutcome = { readonly kind: 'posted'; readonly txId: string } | { readonly kind: 'duplicate'; readonly txId: string } | { readonly kind: 'conflict' };

/** The canonical hash of what a transaction says (its key excluded): same key + other body = conflict. */
export function transactionHash(tx: LedgerTransaction): string {
  const body = JSON.stringify({
    kind: tx.kind,
    reverses: tx.reverses ?? null,
    refs: Object.fromEntries(Object.entries(tx.refs).sort(([a], [b]) => (a < b ? -1 : 1))),
    lines: tx.lines.map((l) => [l.account, l.asset, l.amount.toString(), l.kind]),
  });
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Posts a transaction in the caller's database transaction: one statement for the header (a
 * duplicate key inserts nothing), one for the entries (whose trigger moves the balances). The
 * database checks at commit that it balances. A key already posted with the same body is a
 * duplicate (no effect); with another body it is recorded in `posting_conflicts` for review and
 * nothing is posted. Accounts are opened on first use.
 */
export async function postTransaction(manager: EntityManager, tx: LedgerTransaction, source: string): Promise<PostOutcome> {
  assertBalanced(tx);
  const hash = transactionHash(tx);
  const inserted: { tx_id: string }[] = await manager.query(
    `INSERT INTO "${B}".transactions (idempotency_key, request_hash, kind, reverses, refs)
     VALUES ($1, $2, $3, (SELECT tx_id FROM "${B}".transactions WHERE idempotency_key = $4), $5)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING tx_id`,
    [tx.key, hash, tx.kind, tx.reverses ?? null, JSON.stringify(tx.refs)],
  );
  const row = inserted[0];
  if (row === undefined) {
    const [existing]: { tx_id: string; request_hash: string }[] = await manager.query(
      `SELECT tx_id, request_hash FROM "${B}".transactions WHERE idempotency_key = $1`,
      [tx.key],
    );
    if (existing !== undefined && existing.request_hash === hash) return { kind: 'duplicate', txId: existing.tx_id };
    await manager.query(
      `INSERT INTO "${B}".posting_conflicts (idempotency_key, request_hash, existing_hash, source, payload) VALUES ($1, $2, $3, $4, $5)`,
      [tx.key, hash, existing?.request_hash ?? '', source, JSON.stringify({ ...tx, lines: tx.lines.map((l) => ({ ...l, amount: l.amount.toString() })) })],
    );
    return { kind: 'conflict' };
  }
  const accounts = [...new Set(tx.lines.map((l) => l.account))];
  await manager.query(
    `INSERT INTO "${B}".accounts (account_id, kind, owner_id, asset)
     SELECT a, split_part(a, ':', 1), substr(a, strpos(a, ':') + 1), 'USD' FROM unnest($1::text[]) AS a
     ON CONFLICT (account_id) DO NOTHING`,
    [accounts],
  );
  await manager.query(
    `INSERT INTO "${B}".entries (tx_id, account_id, asset, amount, kind, customer_id, provider_id, job_id, allocation_id, usage_id)
     SELECT $1, account_id, asset, amount, kind, $2, $3, $4, $5, $6
       FROM json_to_recordset($7::json) AS x(account_id text, asset text, amount bigint, kind text)`,
    [
      row.tx_id,
      tx.refs.customerId ?? null,
      tx.refs.providerId ?? null,
      tx.refs.jobId ?? null,
      tx.refs.allocationId ?? null,
      tx.refs.usageId ?? null,
      JSON.stringify(tx.lines.map((l) => ({ account_id: l.account, asset: l.asset, amount: l.amount.toString(), kind: l.kind }))),
    ],
  );
  return { kind: 'posted', txId: row.tx_id };
}
