import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { identifier, isoInstant } from '#contracts';
import { AppSchema } from '#persistence';
import { formatAtomic, USD_SCALE } from '#pricing';
import { Access, CurrentPrincipal, Doc, parseRequest, ProblemException, type Principal } from '#runtime';
import { owns, tenantFilter } from '../access/tenancy.js';
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

const balancesQuery = z.object({ customer: identifier.optional(), provider: identifier.optional() }).strict();

const usageIdParam = z.string().min(1).max(200);

interface UsageRow {
  usage_id: string;
  tx_id: string;
  idempotency_key: string;
  allocation_id: string | null;
  job_id: string | null;
  customer_id: string | null;
  provider_id: string | null;
  compute_nano_usd: string;
  energy_nano_usd: string;
  fee_nano_usd: string;
  charged_nano_usd: string;
  posted_at: Date;
}

const EXAMPLE_USAGE = {
  usageId: '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d:0',
  transactionId: '522',
  transactionKey: 'usage:7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d:0+11',
  allocationId: '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d',
  jobId: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d',
  customerId: 'acme',
  providerId: 'gpu-east',
  computeNanoUsd: '1250000000',
  energyNanoUsd: '62500000',
  feeNanoUsd: '26250000',
  chargedNanoUsd: '1338750000',
  charged: '1.33875',
  postedAt: '2026-11-27T09:00:01.000Z',
};

const EXAMPLE_ENTRY = {
  entryId: '1041',
  transactionId: '522',
  transactionKey: 'usage:7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d:0',
  transactionKind: 'usage',
  reverses: null,
  account: 'customer:acme',
  asset: 'USD',
  amountNanoUsd: '1250000000',
  amount: '1.25',
  kind: 'compute',
  customerId: 'acme',
  providerId: 'gpu-east',
  jobId: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d',
  allocationId: '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d',
  usageId: '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d:0',
  postedAt: '2026-11-27T09:00:01.000Z',
};

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
 * Finance and admin read everything; a customer or provider reads its own entries and balance.
 */
@Controller('v1/finance')
export class FinanceController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('entries')
  @Access.roles('finance', 'admin', 'customer', 'provider')
  @Doc({
    tag: 'finance',
    summary: 'Journal entries, filtered, in posting order',
    description: 'A customer or provider sees the entries of its own account only.',
    query: entriesQuery,
    responseExample: { items: [EXAMPLE_ENTRY], nextCursor: 'WyIxMDQxIl0' },
    errors: { 404: 'A customer or provider named another tenant.' },
  })
  async entries(@Query() raw: unknown, @CurrentPrincipal() who: Principal) {
    const q = this.scoped(parseRequest(entriesQuery, raw, 'query'), who);
    const rows = await this.select(q, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { items: page.map(entryView), nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.entry_id]) : null };
  }

  @Get('entries.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @Header('content-disposition', 'attachment; filename="spotgrid-entries.csv"')
  @Access.roles('finance', 'admin', 'customer', 'provider')
  @Doc({
    tag: 'finance',
    summary: 'Journal entries as CSV',
    query: entriesQuery.omit({ limit: true }),
    produces: 'text/csv',
    responseExample: `${CSV_COLUMNS.join(',')}\n1041,522,usage:7d4e…:0,usage,customer:acme,USD,1250000000,1.25,compute,acme,gpu-east,0b5f…,7d4e…,7d4e…:0,2026-11-27T09:00:01.000Z\n`,
    errors: { 404: 'A customer or provider named another tenant.' },
  })
  async entriesCsv(@Query() raw: unknown, @CurrentPrincipal() who: Principal): Promise<string> {
    const q = this.scoped(parseRequest(entriesQuery.omit({ limit: true }), raw, 'query'), who);
    const rows = await this.select(q, MAX_CSV_ROWS);
    const lines = rows.map((r) =>
      [r.entry_id, r.tx_id, r.idempotency_key, r.tx_kind, r.account_id, r.asset, r.amount, usd(r.amount), r.kind, r.customer_id, r.provider_id, r.job_id, r.allocation_id, r.usage_id, r.posted_at.toISOString()]
        .map(csvField)
        .join(','),
    );
    return `${CSV_COLUMNS.join(',')}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  }

  @Get('balances')
  @Access.roles('finance', 'admin', 'customer', 'provider')
  @Doc({
    tag: 'finance',
    summary: 'Account balances as their owners see them',
    description: 'A customer or provider sees its own account only.',
    query: balancesQuery,
    responseExample: { items: [{ account: 'customer:acme', kind: 'customer', owner: 'acme', balanceNanoUsd: '498750000000', balance: '498.75', creditLimitNanoUsd: '0', heldNanoUsd: '12000000000' }] },
    errors: { 404: 'A customer or provider named another tenant.' },
  })
  async balances(@Query() raw: unknown, @CurrentPrincipal() who: Principal) {
    const asked = parseRequest(balancesQuery, raw, 'query');
    const q =
      who.role === 'customer' ? { customer: tenantFilter(who, asked.customer, 'customer') } : who.role === 'provider' ? { provider: tenantFilter(who, asked.provider, 'provider') } : asked;
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
   * One usage event as the journal posted it: its own amounts and the transaction it is in (with
   * the rest of its allocation's batch; docs/decisions/0008-ledger.md, "A usage sub-ledger").
   */
  @Get('usage/:usageId')
  @Access.roles('finance', 'admin', 'customer', 'provider')
  @Doc({
    tag: 'finance',
    summary: 'One usage event: what it was charged and the journal transaction that posted it',
    description: 'A customer or provider sees its own usage only.',
    params: { usageId: usageIdParam },
    responseExample: EXAMPLE_USAGE,
    errors: { 404: 'No such usage posted, or not yours.' },
  })
  async usage(@Param('usageId') raw: string, @CurrentPrincipal() who: Principal) {
    const id = parseRequest(usageIdParam, raw, 'path');
    const rows: UsageRow[] = await this.dataSource.query(`SELECT * FROM "${V}".billing_usage WHERE usage_id = $1`, [id]);
    const r = rows[0];
    // Another tenant's usage is "not found", as a missing one is: a provider owns its side, a customer its own.
    if (r === undefined || !owns(who, (who.role === 'provider' ? r.provider_id : r.customer_id) ?? '')) throw new ProblemException({ title: 'not found', status: 404, detail: `no usage ${id} posted` });
    return {
      usageId: r.usage_id,
      transactionId: r.tx_id,
      transactionKey: r.idempotency_key,
      allocationId: r.allocation_id,
      jobId: r.job_id,
      customerId: r.customer_id,
      providerId: r.provider_id,
      computeNanoUsd: r.compute_nano_usd,
      energyNanoUsd: r.energy_nano_usd,
      feeNanoUsd: r.fee_nano_usd,
      chargedNanoUsd: r.charged_nano_usd,
      charged: usd(r.charged_nano_usd),
      postedAt: r.posted_at.toISOString(),
    };
  }

  /**
   * Allocations against what billing received, usage against the journal, every transaction
   * zero-sum, holds by status. `ok` is true when nothing is missing, nothing is unbalanced, and
   * every usage transaction's customer lines are the sum of the usage events it posted.
   */
  @Get('reconciliation')
  @Access.roles('finance', 'admin')
  @Doc({
    tag: 'finance',
    summary: 'Reconciliation: matching against billing, usage against the journal, zero-sum, holds',
    responseExample: {
      ok: true,
      allocations: { matched: 120, matchedAmountNanoUsd: '84000000000', billed: 120, missingInBilling: 0 },
      usage: { events: 1412, eventsChargedNanoUsd: '80120000000', transactions: 118, chargedNanoUsd: '80120000000', transactionsNotMatchingEvents: 0 },
      journal: { sumNanoUsd: '0', unbalancedTransactions: 0 },
      holds: { open: 2, settled: 110, voided: 3, expired: 5 },
    },
  })
  async reconciliation() {
    const [r]: Record<string, string>[] = await this.dataSource.query(
      `SELECT
         (SELECT count(*) FROM "${V}".matching_allocations) AS allocations_matched,
         (SELECT coalesce(sum(amount_nano_usd), 0) FROM "${V}".matching_allocations) AS allocations_matched_amount,
         (SELECT count(*) FROM "${V}".billing_allocations) AS allocations_billed,
         (SELECT count(*) FROM "${V}".matching_allocations m
            WHERE NOT EXISTS (SELECT 1 FROM "${V}".billing_allocations b WHERE b.allocation_id = m.allocation_id)) AS allocations_missing,
         (SELECT count(*) FROM "${V}".billing_usage) AS usage_events,
         (SELECT coalesce(sum(charged_nano_usd), 0) FROM "${V}".billing_usage) AS usage_events_charged,
         (SELECT count(*) FROM (
            SELECT tx_id FROM "${V}".billing_entries WHERE tx_kind = 'usage' AND account_id LIKE 'customer:%' GROUP BY tx_id
            HAVING sum(amount) IS DISTINCT FROM (SELECT sum(u.charged_nano_usd) FROM "${V}".billing_usage u WHERE u.tx_id = billing_entries.tx_id)) x) AS usage_unmatched,
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
      ok: n('allocations_missing') === '0' && n('unbalanced_transactions') === '0' && n('journal_sum') === '0' && n('usage_unmatched') === '0',
      allocations: { matched: Number(n('allocations_matched')), matchedAmountNanoUsd: n('allocations_matched_amount'), billed: Number(n('allocations_billed')), missingInBilling: Number(n('allocations_missing')) },
      usage: {
        events: Number(n('usage_events')),
        eventsChargedNanoUsd: n('usage_events_charged'),
        transactions: Number(n('usage_transactions')),
        chargedNanoUsd: n('usage_charged'),
        transactionsNotMatchingEvents: Number(n('usage_unmatched')),
      },
      journal: { sumNanoUsd: n('journal_sum'), unbalancedTransactions: Number(n('unbalanced_transactions')) },
      holds: { open: Number(n('holds_open')), settled: Number(n('holds_settled')), voided: Number(n('holds_voided')), expired: Number(n('holds_expired')) },
    };
  }

  /**
   * A customer's or provider's reads are narrowed to its own account, whatever the query says:
   * its side of each transaction, not the counterparty's credit or the platform's fee.
   */
  private scoped<Q extends { customer?: string | undefined; provider?: string | undefined; account?: string | undefined }>(q: Q, who: Principal): Q {
    if (who.role !== 'customer' && who.role !== 'provider') return q;
    const own = tenantFilter(who, who.role === 'customer' ? q.customer : q.provider, who.role) as string;
    const account = `${who.role}:${own}`;
    if (q.account !== undefined && q.account !== account) throw new ProblemException({ title: 'not found', status: 404, detail: `no account ${q.account}` });
    return { ...q, account, ...(who.role === 'customer' ? { customer: own } : { provider: own }) };
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
