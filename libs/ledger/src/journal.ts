/**
 * The journal's vocabulary. Amounts are signed bigint in atomic units of their asset (USD: nano-USD):
 * positive debits, negative credits. A transaction's lines sum to zero per asset; the database
 * checks it again at commit.
 */

export const USD = 'USD';
/** Atomic scale per asset: USD in nano-dollars. */
export const ASSET_SCALE: Readonly<Record<string, number>> = { USD: 9 };

/** Accounts are named by kind and owner, so a name says whose money it is. */
export const Accounts = {
  /** What a customer has prepaid (credit-normal: a top-up credits it, usage debits it). */
  customer: (customerId: string) => `customer:${customerId}`,
  /** What Spotgrid owes a provider (credit-normal). */
  provider: (providerId: string) => `provider:${providerId}`,
  /** The platform's fee revenue. */
  fees: 'platform:fees',
  /** Money received from customers (top-ups), before it is theirs to spend. */
  funding: 'platform:funding',
  /** Credit granted for free (promotions, goodwill). */
  grants: 'platform:grants',
  /** Differences from rounding nano-USD to cents where money leaves the system. */
  rounding: 'platform:rounding',
} as const;

export type LineKind = 'compute' | 'energy' | 'fee' | 'top-up' | 'grant' | 'rounding' | 'reversal';

export interface Line {
  readonly account: string;
  readonly asset: string;
  readonly amount: bigint;
  readonly kind: LineKind;
}

/** What a line can be traced to. */
export interface References {
  readonly jobId?: string;
  readonly allocationId?: string;
  readonly usageId?: string;
  readonly customerId?: string;
  readonly providerId?: string;
}

export interface LedgerTransaction {
  /** Unique per effect: the same key twice is the same transaction (or a conflict). */
  readonly key: string;
  readonly kind: 'usage' | 'top-up' | 'grant' | 'reversal' | 'invoice-rounding';
  readonly refs: References;
  readonly lines: readonly Line[];
  /** The transaction this one reverses, if it is a reversal. */
  readonly reverses?: string;
}

export class UnbalancedTransactionError extends Error {
  constructor(key: string, asset: string, sum: bigint) {
    super(`transaction ${key} does not balance in ${asset}: its lines sum to ${sum}`);
    this.name = 'UnbalancedTransactionError';
  }
}

/** Every asset's lines sum to zero; throws otherwise. */
export function assertBalanced(tx: LedgerTransaction): void {
  const sums = new Map<string, bigint>();
  for (const l of tx.lines) sums.set(l.asset, (sums.get(l.asset) ?? 0n) + l.amount);
  for (const [asset, sum] of sums) if (sum !== 0n) throw new UnbalancedTransactionError(tx.key, asset, sum);
}

/** The balance of an account after lines, credit-normal accounts shown positive when credited. */
export function creditBalance(lines: readonly Line[], account: string, asset = USD): bigint {
  let sum = 0n;
  for (const l of lines) if (l.account === account && l.asset === asset) sum -= l.amount;
  return sum;
}

/**
 * The full reversal of a transaction: every line negated, its own key derived from the
 * original's, so a transaction can be reversed at most once (the key is unique).
 */
export function reversalOf(tx: LedgerTransaction): LedgerTransaction {
  if (tx.kind === 'reversal') throw new Error(`transaction ${tx.key} is a reversal; reverse the original instead`);
  return {
    key: `reversal:${tx.key}`,
    kind: 'reversal',
    refs: tx.refs,
    reverses: tx.key,
    lines: tx.lines.map((l) => ({ ...l, amount: -l.amount, kind: 'reversal' })),
  };
}
