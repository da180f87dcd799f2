import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { invoiceLines, roundInvoice, roundingTransaction } from '#ledger';
import { AppSchema } from '#persistence';
import { CONFIG, LOGGER, type Config } from '#runtime';
import { postTransactions } from '../journal/journal.writer.js';
import { lockInvoicesExclusive } from './invoice-assignment.js';

const B = AppSchema.Billing;

/** How often drafts past their grace period are looked for and closed. */
const SWEEP_MS = 5_000;

export interface InvoiceSummary {
  readonly invoiceId: string;
  readonly customerId: string;
  readonly period: string;
  readonly status: 'draft' | 'final';
  readonly totalMinor: string | null;
}

/**
 * Invoices per customer per month. Charges (a customer's usage entries and their reversals) are
 * given to invoices as they are posted: to their month's while it is a draft, else to the first
 * later draft, where they are prior-period lines. A draft is closed (final: its lines written,
 * its rounding to cents posted) once `INVOICE_GRACE_HOURS` after its month, or when finance
 * closes it early. The database refuses any change to a final invoice.
 */
@Injectable()
export class InvoiceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.logger.warn({ err }, 'invoice sweep failed; retrying'))
        .finally(() => (this.sweeping = undefined));
    }, SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    const graceMs = this.config.INVOICE_GRACE_HOURS * 3_600_000;
    const due: { invoice_id: string }[] = await this.dataSource.query(
      `SELECT invoice_id FROM "${B}".invoices WHERE status = 'draft' AND (period + interval '1 month') AT TIME ZONE 'UTC' + $1 * interval '1 millisecond' <= now()`,
      [graceMs],
    );
    for (const d of due) await this.finalize(d.invoice_id);
  }

  /**
   * Closes an invoice: its lines are written as they stand (each rounded to cents half-even once),
   * the total is their sum, the rounding difference is posted to the rounding account, and the
   * invoice is final. Closing a final invoice again changes nothing.
   */
  async finalize(invoiceId: string): Promise<InvoiceSummary | undefined> {
    return this.dataSource.transaction(async (m) => {
      await lockInvoicesExclusive(m);
      const rows: { invoice_id: string; customer_id: string; period: string; status: 'draft' | 'final'; total_minor: string | null }[] = await m.query(
        `SELECT invoice_id, customer_id, to_char(period, 'YYYY-MM-DD') AS period, status, total_minor FROM "${B}".invoices WHERE invoice_id = $1 FOR UPDATE`,
        [invoiceId],
      );
      const inv = rows[0];
      if (inv === undefined) return undefined;
      if (inv.status === 'final') return summaryOf(inv);
      // The charge lines exactly as the draft preview reads them (gateway.billing_invoice_charges),
      // so closing writes what the draft showed.
      const charges: { job_id: string | null; kind: string; usage_period: string; amount: string }[] = await m.query(
        `SELECT t.job_id, e.kind, to_char(date_trunc('month', t.posted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS usage_period, sum(e.amount)::text AS amount
           FROM "${B}".transactions t JOIN "${B}".entries e USING (tx_id)
          WHERE t.invoice_id = $1 AND e.account_id LIKE 'customer:%' AND t.customer_id IS NOT NULL GROUP BY 1, 2, 3`,
        [invoiceId],
      );
      const lines = invoiceLines(
        inv.period,
        charges.map((c) => ({ jobId: c.job_id, kind: c.kind, usagePeriod: c.usage_period, amountNanoUsd: BigInt(c.amount) })),
      );
      const rounded = roundInvoice(lines);
      if (lines.length > 0) {
        await m.query(
          `INSERT INTO "${B}".invoice_lines (invoice_id, line_no, job_id, kind, usage_period, prior_period, description, amount_nano_usd, amount_minor)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::date[], $6::boolean[], $7::text[], $8::bigint[], $9::bigint[])`,
          [
            invoiceId,
            lines.map((_, i) => i + 1),
            lines.map((l) => l.jobId),
            lines.map((l) => l.kind),
            lines.map((l) => l.usagePeriod),
            lines.map((l) => l.priorPeriod),
            lines.map((l) => l.description),
            lines.map((l) => l.amountNanoUsd.toString()),
            rounded.lines.map((l) => l.amountMinor.toString()),
          ],
        );
      }
      const rounding = roundingTransaction(invoiceId, inv.customer_id, rounded);
      if (rounding !== undefined) await postTransactions(m, [rounding], 'invoice');
      const [updated] = (await m.query(
        `UPDATE "${B}".invoices SET status = 'final', total_minor = $2, exact_nano_usd = $3, rounding_nano_usd = $4, finalized_at = now()
          WHERE invoice_id = $1 RETURNING invoice_id, customer_id, to_char(period, 'YYYY-MM-DD') AS period, status, total_minor`,
        [invoiceId, rounded.totalMinor.toString(), rounded.exactNanoUsd.toString(), rounded.roundingNanoUsd.toString()],
      )) as [Parameters<typeof summaryOf>[0][], number];
      this.logger.info({ invoiceId, totalMinor: rounded.totalMinor.toString(), lines: lines.length }, 'invoice final');
      return summaryOf(updated[0] as Parameters<typeof summaryOf>[0]);
    });
  }
}

function summaryOf(r: { invoice_id: string; customer_id: string; period: string; status: 'draft' | 'final'; total_minor: string | null }): InvoiceSummary {
  return { invoiceId: r.invoice_id, customerId: r.customer_id, period: r.period, status: r.status, totalMinor: r.total_minor };
}
