import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { identifier } from '#contracts';
import { invoiceLines, MINOR_SCALE, roundInvoice, type ChargeLine } from '#ledger';
import { AppSchema } from '#persistence';
import { formatAtomic, USD_SCALE } from '#pricing';
import { Access, CurrentPrincipal, Doc, parseRequest, ProblemException, type Principal } from '#runtime';
import { invoiceIdParam } from '../access/access.request.js';
import { owns, tenantFilter } from '../access/tenancy.js';
import { csvField } from './finance.controller.js';

const V = AppSchema.Gateway;

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month such as 2026-11');
const invoicesQuery = z
  .object({ customer: identifier.optional(), period: month.optional(), status: z.enum(['draft', 'final']).optional(), limit: z.coerce.number().int().min(1).max(1_000).default(100) })
  .strict();
const statementQuery = z.object({ provider: identifier.optional().describe('Required for finance and admin; a provider reads its own.'), period: month }).strict();

interface InvoiceRow {
  invoice_id: string;
  customer_id: string;
  period: string;
  status: 'draft' | 'final';
  total_minor: string | null;
  exact_nano_usd: string | null;
  rounding_nano_usd: string | null;
  finalized_at: Date | null;
}

interface Line extends ChargeLine {
  readonly amountMinor: bigint;
}

const EXAMPLE_INVOICE = {
  invoiceId: 'inv:acme:2026-11',
  customerId: 'acme',
  period: '2026-11',
  status: 'final',
  totalMinor: '8012',
  total: '80.12',
  exactNanoUsd: '80123456789',
  roundingNanoUsd: '-3456789',
  finalizedAt: '2026-12-04T00:00:05.000Z',
};
const EXAMPLE_LINE = { description: 'gpu:h100 compute, job 0b5f2d8e', jobId: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d', kind: 'compute', usageMonth: '2026-11', priorPeriod: false, amountNanoUsd: '80123456789', amountMinor: '8012', amount: '80.12' };

const usd = (nano: bigint) => formatAtomic(nano, USD_SCALE);
const cents = (minor: bigint) => formatAtomic(minor, MINOR_SCALE);

const INVOICE_COLUMNS = `invoice_id, customer_id, to_char(period, 'YYYY-MM-DD') AS period, status, total_minor::text, exact_nano_usd::text,
  rounding_nano_usd::text, finalized_at`;

/**
 * Invoices and provider statements: finance and admin read all; a customer its own invoices; a
 * provider its own statements (its payouts).
 * A final invoice is read as it was closed; a draft is computed from the charges given to it so
 * far, by the same rule (`invoiceLines`, `roundInvoice`), so what finance previews is what closing
 * it will write.
 */
@Controller('v1/finance')
export class InvoicesController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('invoices')
  @Access.roles('finance', 'admin', 'customer')
  @Doc({ tag: 'finance', summary: 'Invoices, newest month first', description: 'A customer sees its own.', query: invoicesQuery, responseExample: { items: [EXAMPLE_INVOICE] }, errors: { 404: 'A customer named another customer.' } })
  async list(@Query() raw: unknown, @CurrentPrincipal() who: Principal) {
    const asked = parseRequest(invoicesQuery, raw, 'query');
    const q = { ...asked, customer: tenantFilter(who, asked.customer, 'customer') };
    const rows: InvoiceRow[] = await this.dataSource.query(
      `SELECT ${INVOICE_COLUMNS} FROM "${V}".billing_invoices
        WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::date IS NULL OR period = $2::date) AND ($3::text IS NULL OR status = $3)
        ORDER BY period DESC, customer_id LIMIT $4`,
      [q.customer ?? null, q.period === undefined ? null : `${q.period}-01`, q.status ?? null, q.limit],
    );
    // A final invoice's totals are stored (and all `view` needs); a draft's come from its lines, all drafts' in one query
    // (one query per invoice held a pool connection each, and a page of large drafts starved the pool).
    const lines = await this.linesOf(rows.filter((r) => r.total_minor === null || r.exact_nano_usd === null));
    return { items: rows.map((r) => this.view(r, lines.get(r.invoice_id) ?? [])) };
  }

  @Get('invoices/:id')
  @Access.roles('finance', 'admin', 'customer')
  @Doc({ tag: 'finance', summary: 'One invoice with its lines', params: { id: invoiceIdParam }, responseExample: { ...EXAMPLE_INVOICE, lines: [EXAMPLE_LINE] }, errors: { 404: 'No such invoice, or not yours.' } })
  async one(@Param('id') raw: string, @CurrentPrincipal() who: Principal) {
    const inv = await this.find(raw, who);
    const lines = (await this.linesOf([inv])).get(inv.invoice_id) ?? [];
    return { ...this.view(inv, lines), lines: lines.map(lineView) };
  }

  @Get('invoices/:id/csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @Access.roles('finance', 'admin', 'customer')
  @Doc({
    tag: 'finance',
    summary: 'One invoice as CSV',
    params: { id: invoiceIdParam },
    produces: 'text/csv',
    responseExample: 'line,description,job_id,kind,usage_month,prior_period,amount_nano_usd,amount_usd\n1,gpu:h100 compute,0b5f…,compute,2026-11,false,80123456789,80.12\n,total,,,,,,80.12\n',
    errors: { 404: 'No such invoice, or not yours.' },
  })
  async csv(@Param('id') raw: string, @Res({ passthrough: true }) res: Response, @CurrentPrincipal() who: Principal): Promise<string> {
    const inv = await this.find(raw, who);
    res.setHeader('content-disposition', `attachment; filename="${inv.invoice_id.replace(/[^A-Za-z0-9._-]/g, '_')}.csv"`);
    const lines = (await this.linesOf([inv])).get(inv.invoice_id) ?? [];
    const rows = lines.map((l, i) =>
      [String(i + 1), l.description, l.jobId ?? '', l.kind, l.usagePeriod.slice(0, 7), String(l.priorPeriod), l.amountNanoUsd.toString(), cents(l.amountMinor)].map(csvField).join(','),
    );
    const total = lines.reduce((s, l) => s + l.amountMinor, 0n);
    return `line,description,job_id,kind,usage_month,prior_period,amount_nano_usd,amount_usd\n${rows.join('\n')}${rows.length > 0 ? '\n' : ''},total,,,,,,${cents(total)}\n`;
  }

  /** What Spotgrid owes a provider for a month: its compute and energy credits, per job. */
  @Get('statements')
  @Access.roles('finance', 'admin', 'provider')
  @Doc({
    tag: 'finance',
    summary: "A provider's statement (its payout) for a month",
    query: statementQuery,
    responseExample: { providerId: 'gpu-east', period: '2026-11', lines: [{ jobId: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d', kind: 'compute', entries: 12, amountNanoUsd: '76000000000', amount: '76' }], totalNanoUsd: '76000000000', total: '76' },
    errors: { 404: 'A provider named another provider.' },
  })
  async statement(@Query() raw: unknown, @CurrentPrincipal() who: Principal) {
    const q = this.statementOf(raw, who);
    const lines = await this.statementLines(q.provider, q.period);
    const total = lines.reduce((s, l) => s + l.amount, 0n);
    return {
      providerId: q.provider,
      period: q.period,
      lines: lines.map((l) => ({ jobId: l.jobId, kind: l.kind, entries: l.entries, amountNanoUsd: l.amount.toString(), amount: usd(l.amount) })),
      totalNanoUsd: total.toString(),
      total: usd(total),
    };
  }

  @Get('statements.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  @Header('content-disposition', 'attachment; filename="spotgrid-statement.csv"')
  @Access.roles('finance', 'admin', 'provider')
  @Doc({
    tag: 'finance',
    summary: "A provider's statement as CSV",
    query: statementQuery,
    produces: 'text/csv',
    responseExample: 'provider_id,month,job_id,kind,entries,amount_nano_usd,amount_usd\ngpu-east,2026-11,0b5f…,compute,12,76000000000,76\n',
    errors: { 404: 'A provider named another provider.' },
  })
  async statementCsv(@Query() raw: unknown, @CurrentPrincipal() who: Principal): Promise<string> {
    const q = this.statementOf(raw, who);
    const lines = await this.statementLines(q.provider, q.period);
    const rows = lines.map((l) => [q.provider, q.period, l.jobId ?? '', l.kind, String(l.entries), l.amount.toString(), usd(l.amount)].map(csvField).join(','));
    return `provider_id,month,job_id,kind,entries,amount_nano_usd,amount_usd\n${rows.join('\n')}${rows.length > 0 ? '\n' : ''}`;
  }

  private statementOf(raw: unknown, who: Principal): { provider: string; period: string } {
    const q = parseRequest(statementQuery, raw, 'query');
    const provider = tenantFilter(who, q.provider, 'provider');
    if (provider === undefined) throw new ProblemException({ title: 'invalid query', status: 400, detail: 'provider: required' });
    return { provider, period: q.period };
  }

  private async find(raw: string, who: Principal): Promise<InvoiceRow> {
    const id = parseRequest(invoiceIdParam, raw, 'path');
    const rows: InvoiceRow[] = await this.dataSource.query(`SELECT ${INVOICE_COLUMNS} FROM "${V}".billing_invoices WHERE invoice_id = $1`, [id]);
    const inv = rows[0];
    // Another customer's invoice is "not found", as a missing one is.
    if (inv === undefined || !owns(who, inv.customer_id)) throw new ProblemException({ title: 'not found', status: 404, detail: `no invoice ${id}` });
    return inv;
  }

  /**
   * Each invoice's lines by id: a final invoice's stored lines, a draft's as closing it now would
   * write them. One query for the finals and one for the drafts, whatever the number of invoices.
   */
  private async linesOf(invoices: readonly InvoiceRow[]): Promise<Map<string, Line[]>> {
    const out = new Map<string, Line[]>(invoices.map((inv) => [inv.invoice_id, []]));
    const finals = invoices.filter((inv) => inv.status === 'final').map((inv) => inv.invoice_id);
    const drafts = invoices.filter((inv) => inv.status !== 'final');
    if (finals.length > 0) {
      const rows: { invoice_id: string; job_id: string | null; kind: string; usage_period: string; prior_period: boolean; description: string; amount_nano_usd: string; amount_minor: string }[] =
        await this.dataSource.query(
          `SELECT invoice_id, job_id, kind, to_char(usage_period, 'YYYY-MM-DD') AS usage_period, prior_period, description, amount_nano_usd::text, amount_minor::text
             FROM "${V}".billing_invoice_lines WHERE invoice_id = ANY($1) ORDER BY invoice_id, line_no`,
          [finals],
        );
      for (const r of rows) {
        out.get(r.invoice_id)?.push({
          jobId: r.job_id,
          kind: r.kind,
          usagePeriod: r.usage_period,
          priorPeriod: r.prior_period,
          description: r.description,
          amountNanoUsd: BigInt(r.amount_nano_usd),
          amountMinor: BigInt(r.amount_minor),
        });
      }
    }
    if (drafts.length > 0) {
      const rows: { invoice_id: string; job_id: string | null; kind: string; usage_period: string; amount: string }[] = await this.dataSource.query(
        `SELECT invoice_id, job_id, kind, to_char(usage_period, 'YYYY-MM-DD') AS usage_period, amount_nano_usd::text AS amount
           FROM "${V}".billing_invoice_charges WHERE invoice_id = ANY($1)`,
        [drafts.map((inv) => inv.invoice_id)],
      );
      const charges = new Map<string, { jobId: string | null; kind: string; usagePeriod: string; amountNanoUsd: bigint }[]>();
      for (const c of rows) {
        let list = charges.get(c.invoice_id);
        if (list === undefined) charges.set(c.invoice_id, (list = []));
        list.push({ jobId: c.job_id, kind: c.kind, usagePeriod: c.usage_period, amountNanoUsd: BigInt(c.amount) });
      }
      for (const inv of drafts) {
        const lines = invoiceLines(inv.period, charges.get(inv.invoice_id) ?? []);
        out.set(
          inv.invoice_id,
          roundInvoice(lines).lines.map((l, i) => ({ ...(lines[i] as ChargeLine), amountMinor: l.amountMinor })),
        );
      }
    }
    return out;
  }

  private view(r: InvoiceRow, lines: readonly Line[]) {
    const total = r.total_minor === null ? lines.reduce((s, l) => s + l.amountMinor, 0n) : BigInt(r.total_minor);
    const exact = r.exact_nano_usd === null ? lines.reduce((s, l) => s + l.amountNanoUsd, 0n) : BigInt(r.exact_nano_usd);
    return {
      invoiceId: r.invoice_id,
      customerId: r.customer_id,
      period: r.period.slice(0, 7),
      status: r.status,
      totalMinor: total.toString(),
      total: cents(total),
      exactNanoUsd: exact.toString(),
      roundingNanoUsd: (exact - total * 10_000_000n).toString(),
      finalizedAt: r.finalized_at?.toISOString() ?? null,
    };
  }

  private async statementLines(provider: string, period: string) {
    const rows: { job_id: string | null; kind: string; entries: number; amount: string }[] = await this.dataSource.query(
      `SELECT job_id, kind, count(*)::int AS entries, (-sum(amount))::text AS amount FROM "${V}".billing_entries
        WHERE account_id = $1 AND posted_at >= ($2::date)::timestamp AT TIME ZONE 'UTC'
          AND posted_at < ($2::date + interval '1 month')::timestamp AT TIME ZONE 'UTC'
        GROUP BY job_id, kind ORDER BY job_id NULLS FIRST, kind`,
      [`provider:${provider}`, `${period}-01`],
    );
    return rows.map((r) => ({ jobId: r.job_id, kind: r.kind, entries: r.entries, amount: BigInt(r.amount) }));
  }
}

function lineView(l: Line) {
  return {
    description: l.description,
    jobId: l.jobId,
    kind: l.kind,
    usageMonth: l.usagePeriod.slice(0, 7),
    priorPeriod: l.priorPeriod,
    amountNanoUsd: l.amountNanoUsd.toString(),
    amountMinor: l.amountMinor.toString(),
    amount: cents(l.amountMinor),
  };
}
