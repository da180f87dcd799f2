import { Controller, Get, Header, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { identifier, isoInstant } from '#contracts';
import { AppSchema } from '#persistence';
import { formatAtomic, USD_SCALE } from '#pricing';
import { parseRequest } from '#runtime';
import { decodeCursor, encodeCursor } from '../market/cursor.js';

const V = AppSchema.Gateway;
/** Most rows one CSV export carries; narrow the period for more. */
const MAX_CSV_ROWS = 100_000;

const entriesQuery = z
  .object({
    customer: identifier.optional(),
    provider: identifier.optional(),
    job: z.string().max(200).optional(),
    account: z.string().max(300).optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();
type EntriesQuery = z.infer<typeof entriesQuery>;

interface EntryRow {
  entry_id: string;
  tx_id: string;
  idempotency_key: string;
  tx_kind: string;
  reverses: string | null;
  account_id: string;
  asset: string;
  amount: string;
  kind: string;
  customer_id: string | null;
  provider_id: string | null;
  job_id: string | null;
  allocation_id: string | null;
  usage_id: string | null;
  posted_at: Date;
}

const usd = (nano: string | bigint) => formatAtomic(BigInt(nano), USD_SCALE);

function entryView(r: EntryRow) {
  return {
    entryId: r.entry_id,
    transactionId: r.tx_id,
    transactionKey: r.idempotency_key,
    transactionKind: r.tx_kind,
    reverses: r.reverses,
    account: r.account_id,
    asset: r.asset,
    amountNanoUsd: r.amount,
    amount: usd(r.amount),
    kind: r.kind,
    customerId: r.customer_id,
    providerId: r.provider_id,
    jobId: r.job_id,
    allocationId: r.allocation_id,
    usageId: r.usage_id,
    postedAt: r.posted_at.toISOString(),
  };
}

const CSV_COLUMNS = ['entry_id', 'tx_id', 'transaction_key', 'transaction_kind', 'account', 'asset', 'amount_nano_usd', 'amount_usd', 'kind', 'customer_id', 'provider_id', 'job_id', 'allocation_id', 'usage_id', 'posted_at'];

/** One CSV field: quoted when it needs it, with spreadsheet formulas defused (every finance export). */
export function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * Finance reads over the journal (through views of the billing and matching schemas): entries
 * with filters and a keyset cursor, the same as CSV, balances, and a reconciliation report.
 * Open to any caller until roles exist (issue 7), when they become the finance role's.
 */
@Controller('v1/finance')
export class FinanceController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('entries')
  async entries(@Query() raw: unknown) {
    const q = parseRequest(entriesQuery, raw, 'query');
    const rows = await this.select(q, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { items: page.map(entryView), nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.entry_id]) : null };
  }

  @Get('entries.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @Header('content-disposition', 'attachment; filename="spotgrid-entries.csv"')
  async entriesCsv(@Query() raw: unknown): Promise<string> {
    const q = parseRequest(entriesQuery.omit({ limit: true }), raw, 'query');
    const rows = await this.select(q, MAX_CSV_ROWS);
    const lines = rows.map((r) =>
      [r.entry_id, r.tx_id, r.idempotency_key, r.tx_kind, r.account_id, r.asset, r.amount, usd(r.amount), r.kind, r.customer_id, r.provider_id, r.job_id, r.allocation_id, r.usage_id, r.posted_at.toISOString()]
        .map(csvField)
        .join(','),
    );
    return `${CSV_COLUMNS.join(',')}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  }

  @Get('balances')
  async balances(@Query() raw: unknown) {
    const q = parseRequest(z.object({ customer: identifier.optional(), provider: identifier.optional() }).strict(), raw, 'query');
    const account = q.customer !== undefined ? `customer:${q.customer}` : q.provider !== undefined ? `provider:${q.provider}` : null;
    const rows: { account_id: string; kind: string; owner_id: string | null; balance: string; credit_limit: string; held: string }[] = await this.dataSource.query(
      `SELECT account_id, kind, owner_id, balance, credit_limit, held FROM "${V}".billing_balances
        WHERE $1::text IS NULL OR account_id = $1 ORDER BY account_id LIMIT 1000`,
      [account],
    );
    return {
      items: rows.map((r) => ({
        account: r.account_id,
        kind: r.kind,
        owner: r.owner_id,
        // Debit-positive in the journal; shown as the owner sees it (money held for them positive).
        balanceNanoUsd: (-BigInt(r.balance)).toString(),
        balance: usd(-BigInt(r.balance)),
        creditLimitNanoUsd: r.credit_limit,
        heldNanoUsd: r.held,
      })),
    };
  }

  /**
   * Allocations against what billing received, usage against the journal, every transaction
   * zero-sum, holds by status. `ok` is true when nothing is missing and nothing is unbalanced.
   */
  @Get('reconciliation')
  async reconciliation() {
    const [r]: Record<string, string>[] = await this.dataSource.query(
      `SELECT
         (SELECT count(*) FROM "${V}".matching_allocations) AS allocations_matched,
         (SELECT coalesce(sum(amount_nano_usd), 0) FROM "${V}".matching_allocations) AS allocations_matched_amount,
         (SELECT count(*) FROM "${V}".billing_allocations) AS allocations_billed,
         (SELECT count(*) FROM "${V}".matching_allocations m
            WHERE NOT EXISTS (SELECT 1 FROM "${V}".billing_allocations b WHERE b.allocation_id = m.allocation_id)) AS allocations_missing,
         (SELECT count(DISTINCT tx_id) FROM "${V}".billing_entries WHERE tx_kind = 'usage') AS usage_transactions,
         (SELECT coalesce(sum(amount), 0) FROM "${V}".billing_entries WHERE tx_kind = 'usage' AND account_id LIKE 'customer:%') AS usage_charged,
         (SELECT coalesce(sum(amount), 0) FROM "${V}".billing_entries) AS journal_sum,
         (SELECT count(*) FROM (SELECT tx_id FROM "${V}".billing_entries GROUP BY tx_id, asset HAVING sum(amount) <> 0) u) AS unbalanced_transactions,
         (SELECT count(*) FROM "${V}".billing_holds WHERE status = 'open') AS holds_open,
         (SELECT count(*) FROM "${V}".billing_holds WHERE status = 'settled') AS holds_settled,
         (SELECT count(*) FROM "${V}".billing_holds WHERE status = 'voided') AS holds_voided,
         (SELECT count(*) FROM "${V}".billing_holds WHERE status = 'expired') AS holds_expired`,
    );
    const n = (k: string) => r?.[k] ?? '0';
    return {
      ok: n('allocations_missing') === '0' && n('unbalanced_transactions') === '0' && n('journal_sum') === '0',
      allocations: { matched: Number(n('allocations_matched')), matchedAmountNanoUsd: n('allocations_matched_amount'), billed: Number(n('allocations_billed')), missingInBilling: Number(n('allocations_missing')) },
      usage: { transactions: Number(n('usage_transactions')), chargedNanoUsd: n('usage_charged') },
      journal: { sumNanoUsd: n('journal_sum'), unbalancedTransactions: Number(n('unbalanced_transactions')) },
      holds: { open: Number(n('holds_open')), settled: Number(n('holds_settled')), voided: Number(n('holds_voided')), expired: Number(n('holds_expired')) },
    };
  }

  private select(q: Omit<EntriesQuery, 'limit'>, limit: number): Promise<EntryRow[]> {
    const after = decodeCursor(q.cursor, 1);
    return this.dataSource.query(
      `SELECT * FROM "${V}".billing_entries
        WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR provider_id = $2) AND ($3::text IS NULL OR job_id = $3)
          AND ($4::text IS NULL OR account_id = $4) AND ($5::timestamptz IS NULL OR posted_at >= $5) AND ($6::timestamptz IS NULL OR posted_at < $6)
          AND ($7::bigint IS NULL OR entry_id > $7)
        ORDER BY entry_id LIMIT $8`,
      [q.customer ?? null, q.provider ?? null, q.job ?? null, q.account ?? null, q.from ?? null, q.to ?? null, after?.[0] ?? null, limit],
    );
  }
}
