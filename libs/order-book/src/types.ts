/**
 * The order book's vocabulary. Prices are nano-USD per unit, quantities are micro-units (a
 * millionth of a GPU-hour or of a million tokens), both bigint. Time is epoch milliseconds and is
 * always passed in: the book has no clock.
 */
export interface AskAttributes {
  readonly tier: 'spot' | 'on-demand';
  readonly interruptible: boolean;
  readonly dataPolicy: 'no-retention' | 'retention-30d' | 'training-allowed';
}

/** An offer's capacity at its effective price. */
export interface Ask {
  readonly id: string;
  readonly providerId: string;
  readonly region: string;
  readonly price: bigint;
  readonly quantity: bigint;
  /** The ask never matches at or after this instant. */
  readonly validUntil: number;
  readonly attributes: AskAttributes;
}

export interface Constraints {
  /** Only these regions (undefined: any). */
  readonly regions?: readonly string[];
  readonly excludeRegions?: readonly string[];
  readonly providers?: readonly string[];
  readonly excludeProviders?: readonly string[];
  /** Data policies the job accepts (undefined: any). */
  readonly dataPolicies?: readonly AskAttributes['dataPolicy'][];
  /** Whether capacity that can be preempted is acceptable (default true). */
  readonly interruptible?: boolean;
}

/** A job's order: how much, at most at what price per unit, where. */
export interface Bid {
  readonly id: string;
  readonly quantity: bigint;
  readonly limit: bigint;
  readonly constraints: Constraints;
  /** false: fill all of it at once or nothing (all-or-none). */
  readonly allowSplit: boolean;
}

export interface Fill {
  readonly bidId: string;
  readonly askId: string;
  readonly providerId: string;
  readonly region: string;
  /** Pay-as-ask: the ask's price, never above the bid's limit. */
  readonly price: bigint;
  readonly quantity: bigint;
}

export interface MatchResult {
  readonly fills: readonly Fill[];
  /** What is left of the bid (0 when filled). */
  readonly remaining: bigint;
}
