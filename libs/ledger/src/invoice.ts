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
