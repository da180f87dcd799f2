/**
 * Exact decimals: value = coefficient × 10^-exponent. Prices arrive as decimal strings and are
 * multiplied (by FX rates, kWh per unit, unit factors) without loss; rounding happens once, when
 * a result becomes atomic units. No float ever holds a price.
 */
export interface Decimal {
  readonly coefficient: bigint;
  readonly exponent: number;
}

/** Longest decimal string accepted, so no input can make a multiplication unbounded. */
export const MAX_DECIMAL_DIGITS = 38;

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export class DecimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

export function parseDecimal(text: string): Decimal {
  const m = DECIMAL.exec(text);
  if (m === null) throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
  const [, sign = '', whole = '', fraction = ''] = m;
  if (whole.length + fraction.length > MAX_DECIMAL_DIGITS) throw new DecimalError(`more than ${MAX_DECIMAL_DIGITS} digits: ${text}`);
  const magnitude = BigInt(whole + fraction);
  return { coefficient: sign === '-' ? -magnitude : magnitude, exponent: fraction.length };
}

export function decimalOf(coefficient: bigint, exponent = 0): Decimal {
  return { coefficient, exponent };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exponent = Math.max(a.exponent, b.exponent);
  return [a.coefficient * 10n ** BigInt(exponent - a.exponent), b.coefficient * 10n ** BigInt(exponent - b.exponent), exponent];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, exponent] = align(a, b);
  return { coefficient: x + y, exponent };
}

export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** n / d rounded half to even (banker's rounding): no bias when many values are rounded. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new DecimalError('division by zero');
  if (d < 0n) return divideHalfEven(-n, -d);
  const q = n / d; // truncates toward zero
  const r = n % d;
  if (r === 0n) return q;
  const twice = 2n * (r < 0n ? -r : r);
  const away = n < 0n ? q - 1n : q + 1n;
  if (twice > d) return away;
  if (twice < d) return q;
  return q % 2n === 0n ? q : away;
}

/** Divides exactly by a positive integer, keeping `extraDigits` more decimal places than `a`. */
export function divideBy(a: Decimal, divisor: bigint, extraDigits = 12): Decimal {
  const scaled = a.coefficient * 10n ** BigInt(extraDigits);
  return { coefficient: divideHalfEven(scaled, divisor), exponent: a.exponent + extraDigits };
}

/** The value in atomic units at `scale` decimal places, rounded half-even. */
export function toAtomic(d: Decimal, scale: number): bigint {
  if (d.exponent <= scale) return d.coefficient * 10n ** BigInt(scale - d.exponent);
  return divideHalfEven(d.coefficient, 10n ** BigInt(d.exponent - scale));
}

/** The value in atomic units at `scale`, refusing any digit that would be lost. */
export function toAtomicExact(d: Decimal, scale: number): bigint {
  const atomic = toAtomic(d, scale);
  if (compare(decimalOf(atomic, scale), d) !== 0) throw new DecimalError(`cannot be represented with ${scale} decimal places without rounding`);
  return atomic;
}

/** Atomic units back to a canonical decimal string (no trailing zeros, no exponent). */
export function formatAtomic(atomic: bigint, scale: number): string {
  const negative = atomic < 0n;
  const digits = (negative ? -atomic : atomic).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
