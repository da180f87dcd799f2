import { DecimalError, divideHalfEven, formatAtomic, parseDecimal, toAtomic, toAtomicExact } from './decimal.js';

/**
 * Quantities of an instrument (GPU-hours, millions of tokens) are bigint micro-units inside the
 * engine: a millionth of a GPU-hour is 3.6 ms, a millionth of a million tokens is one token.
 */
export const QUANTITY_SCALE = 6;
const MICRO = 10n ** BigInt(QUANTITY_SCALE);

/** A quantity as given by a customer: exact, or an error naming the lost digits. */
export function parseQuantityMicro(text: string): bigint {
  const d = parseDecimal(text);
  try {
    return toAtomicExact(d, QUANTITY_SCALE);
  } catch (error) {
    if (error instanceof DecimalError) throw new DecimalError(`${text} has more than ${QUANTITY_SCALE} decimal places`);
    throw error;
  }
}

/** A capacity as published by a provider: rounded half-even to micro-units. */
export function capacityMicro(text: string): bigint {
  return toAtomic(parseDecimal(text), QUANTITY_SCALE);
}

export function formatQuantity(micro: bigint): string {
  return formatAtomic(micro, QUANTITY_SCALE);
}

/** quantity × unit price, in nano-USD, rounded half-even once. */
export function amountNanoUsd(quantityMicro: bigint, unitNanoUsd: bigint): bigint {
  return divideHalfEven(quantityMicro * unitNanoUsd, MICRO);
}

/** The most that quantity × price can come to: rounded up, so a hold always covers the charge. */
export function worstCaseNanoUsd(quantityMicro: bigint, unitNanoUsd: bigint): bigint {
  const n = quantityMicro * unitNanoUsd;
  return n <= 0n ? 0n : (n + MICRO - 1n) / MICRO;
}

/** A fee in basis points of an amount, half-even; nothing on a credit (a negative amount). */
export function feeNanoUsd(amount: bigint, feeBps: number): bigint {
  return amount <= 0n ? 0n : divideHalfEven(amount * BigInt(feeBps), 10_000n);
}

/** The fee on a worst case, rounded up like the worst case itself. */
export function worstCaseFeeNanoUsd(amount: bigint, feeBps: number): bigint {
  return amount <= 0n ? 0n : (amount * BigInt(feeBps) + 9_999n) / 10_000n;
}
