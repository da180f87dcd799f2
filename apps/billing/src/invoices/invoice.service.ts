import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { invoiceLines, nextPeriod, roundInvoice, roundingTransaction } from '#ledger';
import { AppSchema } from '#persistence';
import { CONFIG, LOGGER, type Config } from '#runtime';
import { postTransactions } from '../journal/journal.writer.js';

const B = AppSchema.Billing;

/** How often charges are given to invoices and drafts past their grace period are closed. */
const SWEEP_MS = 5_000;
/** Most charges given out in one transaction. */
const ASSIGN_BATCH = 50_000;

export interface InvoiceSummary {
  readonly invoiceId: string;
  readonly customerId: string;
  readonly period: string;
  readonly status: 'draft' | 'final';
  readonly totalMinor: string | null;
}

export const invoiceIdOf = (customerId: string, period: string): string => `inv:${customerId}:${period.slice(0, 7)}`;

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
    await this.assign();
    const graceMs = this.config.INVOICE_GRACE_HOURS * 3_600_000;
    const due: { invoice_id: string }[] = await this.dataSource.query(
      `SELECT invoice_id FROM "${B}".invoices WHERE status = 'draft' AND (period + interval '1 month') AT TIME ZONE 'UTC' + $1 * interval '1 millisecond' <= now()`,
      [graceMs],
    );
    for (const d of due) await this.finalize(d.invoice_id);
  }

  /** Gives every charge not on an invoice yet to one. Returns how many were given. */
  async assign(): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      await lockInvoices(m);
      // Charges queued by the journal's trigger as they were posted: only what is new is read.
      const [rows] = (await m.query(
        `DELETE FROM "${B}".uninvoiced WHERE entry_id IN (SELECT entry_id FROM "${B}".uninvoiced ORDER BY entry_id LIMIT ${ASSIGN_BATCH})
         RETURNING entry_id, customer_id, to_char(date_trunc('month', posted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS period`,
      )) as [{ entry_id: string; customer_id: string; period: string }[], number];
      if (rows.length === 0) return 0;
      const finals: { customer_id: string; period: string }[] = await m.query(
        `SELECT customer_id, to_char(period, 'YYYY-MM-DD') AS period FROM "${B}".invoices WHERE customer_id = ANY($1) AND status = 'final'`,
        [[...new Set(rows.map((r) => r.customer_id))]],
      );
      const final = new Set(finals.map((f) => `${f.customer_id}\u0000${f.period}`));
      const targets = rows.map((r) => {
        let period = r.period;
        while (final.has(`${r.customer_id}\u0000${period}`)) period = nextPeriod(period);
        return { entryId: r.entry_id, customerId: r.customer_id, period, invoiceId: invoiceIdOf(r.customer_id, period) };
      });
      const invoices = [...new Map(targets.map((t) => [t.invoiceId, t])).values()];
      await m.query(
        `INSERT INTO "${B}".invoices (invoice_id, customer_id, period)
         SELECT * FROM unnest($1::text[], $2::text[], $3::date[]) ON CONFLICT (invoice_id) DO NOTHING`,
        [invoices.map((i) => i.invoiceId), invoices.map((i) => i.customerId), invoices.map((i) => i.period)],
      );
      await m.query(`INSERT INTO "${B}".invoice_entries (entry_id, invoice_id) SELECT * FROM unnest($1::bigint[], $2::text[])`, [
        targets.map((t) => t.entryId),
        targets.map((t) => t.invoiceId),
      ]);
      return targets.length;
    });
  }

  /**
   * Closes an invoice: its lines are written as they stand (each rounded to cents half-even once),
   * the total is their sum, the rounding difference is posted to the rounding account, and the
   * invoice is final. Closing a final invoice again changes nothing.
   */
  async finalize(invoiceId: string): Promise<InvoiceSummary | undefined> {
    await this.assign();
    return this.dataSource.transaction(async (m) => {
      await lockInvoices(m);
      const rows: { invoice_id: string; customer_id: string; period: string; status: 'draft' | 'final'; total_minor: string | null }[] = await m.query(
        `SELECT invoice_id, customer_id, to_char(period, 'YYYY-MM-DD') AS period, status, total_minor FROM "${B}".invoices WHERE invoice_id = $1 FOR UPDATE`,
        [invoiceId],
      );
      const inv = rows[0];
      if (inv === undefined) return undefined;
      if (inv.status === 'final') return summaryOf(inv);
      const charges: { job_id: string | null; kind: string; usage_period: string; amount: string }[] = await m.query(
        `SELECT e.job_id, e.kind, to_char(date_trunc('month', e.posted_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS usage_period, sum(e.amount)::text AS amount
           FROM "${B}".invoice_entries ie JOIN "${B}".entries e USING (entry_id)
          WHERE ie.invoice_id = $1 GROUP BY 1, 2, 3`,
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

/** Giving out charges and closing invoices take turns (a charge must not land on an invoice being closed). */
async function lockInvoices(m: EntityManager): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock(hashtext('billing.invoices'))`);
}

function summaryOf(r: { invoice_id: string; customer_id: string; period: string; status: 'draft' | 'final'; total_minor: string | null }): InvoiceSummary {
  return { invoiceId: r.invoice_id, customerId: r.customer_id, period: r.period, status: r.status, totalMinor: r.total_minor };
}
