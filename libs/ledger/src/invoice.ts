import { divideHalfEven } from '#pricing';
import { Accounts, USD, type LedgerTransaction } from './journal.js';

/** Cents per USD: invoices are in ISO 4217 minor units. */
export const MINOR_SCALE = 2;
const NANO_PER_MINOR = 10_000_000n; // 10^(9 − 2)

export interface InvoiceLine {
  readonly description: string;
  readonly amountNanoUsd: bigint;
  /** The line belongs to an earlier period: late usage lands on the next open invoice. */
  readonly priorPeriod: boolean;
}

export interface RoundedInvoice {
  readonly lines: readonly (InvoiceLine & { readonly amountMinor: bigint })[];
  readonly totalMinor: bigint;
  readonly exactNanoUsd: bigint;
  /** exact − total in nano-USD: what the rounding account absorbs (positive: the customer pays less). */
  readonly roundingNanoUsd: bigint;
}

/** Nano-USD to cents, half-even. */
export function toMinor(nano: bigint): bigint {
  return divideHalfEven(nano, NANO_PER_MINOR);
}

/**
 * The invoice rule: each line is rounded to cents half-even once; the total is the sum of the
 * rounded lines (so the lines add up to the total a customer sees); the difference from the
 * exact sum goes to the rounding account. Half-even keeps that account near zero over many
 * invoices instead of drifting one way.
 */
export function roundInvoice(lines: readonly InvoiceLine[]): RoundedInvoice {
  const rounded = lines.map((l) => ({ ...l, amountMinor: toMinor(l.amountNanoUsd) }));
  const totalMinor = rounded.reduce((s, l) => s + l.amountMinor, 0n);
  const exactNanoUsd = lines.reduce((s, l) => s + l.amountNanoUsd, 0n);
  return { lines: rounded, totalMinor, exactNanoUsd, roundingNanoUsd: exactNanoUsd - totalMinor * NANO_PER_MINOR };
}

/**
 * The rounding difference as a transaction: the customer's account is brought to what the invoice
 * says, against the rounding account.
 */
export function roundingTransaction(invoiceId: string, customerId: string, invoice: RoundedInvoice): LedgerTransaction | undefined {
  if (invoice.roundingNanoUsd === 0n) return undefined;
  return {
    key: `invoice-rounding:${invoiceId}`,
    kind: 'invoice-rounding',
    refs: { customerId },
    lines: [
      // The customer was debited the exact amount; the invoice asks for the rounded one.
      { account: Accounts.customer(customerId), asset: USD, amount: -invoice.roundingNanoUsd, kind: 'rounding' },
      { account: Accounts.rounding, asset: USD, amount: invoice.roundingNanoUsd, kind: 'rounding' },
    ],
  };
}

/** A customer's charges on one invoice, summed per job, kind (compute, energy, fee) and month of use. */
export interface Charge {
  readonly jobId: string | null;
  readonly kind: string;
  /** The first day (YYYY-MM-DD) of the month the charge was posted in. */
  readonly usagePeriod: string;
  readonly amountNanoUsd: bigint;
}

export interface ChargeLine extends InvoiceLine {
  readonly jobId: string | null;
  readonly kind: string;
  readonly usagePeriod: string;
}

const KIND_LABEL: Readonly<Record<string, string>> = { compute: 'Compute', energy: 'Energy', fee: 'Platform fee' };

/**
 * An invoice's lines from its charges: this period's first, then earlier periods' (late usage,
 * each marked as such), each sorted by job and kind, so a draft and its final version list the
 * same lines in the same order. Zero lines are left out.
 */
export function invoiceLines(period: string, charges: readonly Charge[]): ChargeLine[] {
  return charges
    .filter((c) => c.amountNanoUsd !== 0n)
    .map((c) => {
      const priorPeriod = c.usagePeriod < period;
      const label = KIND_LABEL[c.kind] ?? c.kind;
      const description = `${label}, job ${c.jobId ?? '(none)'}${priorPeriod ? ` (used in ${c.usagePeriod.slice(0, 7)})` : ''}`;
      return { jobId: c.jobId, kind: c.kind, usagePeriod: c.usagePeriod, description, amountNanoUsd: c.amountNanoUsd, priorPeriod };
    })
    .sort((a, b) => Number(a.priorPeriod) - Number(b.priorPeriod) || cmp(a.usagePeriod, b.usagePeriod) || cmp(a.jobId ?? '', b.jobId ?? '') || cmp(a.kind, b.kind));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first day of the month after `period` (YYYY-MM-DD, a first of month). */
export function nextPeriod(period: string): string {
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7));
  return month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
}
