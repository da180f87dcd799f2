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

/** Parsed decimals by their text: prices, rates and kWh figures repeat across ticks, tariffs and re-quotes. */
const parsed = new Map<string, Decimal>();
/** Bounded, so no stream of distinct prices can grow it: it starts over when full. */
const PARSED_LIMIT = 8_192;

export class DecimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

/** `-?digits(.digits)?`, at most MAX_DECIMAL_DIGITS digits, exactly. Decimals are immutable, so one parse serves every caller. */
export function parseDecimal(text: string): Decimal {
  // Prices are short, and scanning one costs less than hashing it for the cache: a feed's prices
  // are mostly new strings, often new values. Long texts (rates, inverted rates) are kept.
  if (text.length <= SHORT_LENGTH) return parseText(text);
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const d = parseText(text);
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(text, d);
  return d;
}

/** Texts up to this long are parsed each time, not looked up. */
const SHORT_LENGTH = 15;
/** Digits a double holds exactly as an integer. */
const EXACT_DIGITS = 15;

/**
 * A scan instead of a regular expression: this runs for every price of every quote. The digits
 * are summed into a double as they go, which is exact up to 15 of them: then `BigInt(n)`, with no
 * string built for `BigInt(text)`.
 */
function parseText(text: string): Decimal {
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 45; // '-'
  const from = negative ? 1 : 0;
  let dot = -1;
  let sum = 0;
  for (let i = from; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) sum = sum * 10 + (c - 48);
    else if (c === 46 && dot === -1 && i > from && i < length - 1) dot = i; // '.', with digits on both sides
    else throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
  }
  if (length === from) throw new DecimalError(`not a decimal number: ${JSON.stringify(text)}`);
  const digits = dot === -1 ? length - from : length - from - 1;
  if (digits > MAX_DECIMAL_DIGITS) throw new DecimalError(`more than ${MAX_DECIMAL_DIGITS} digits: ${text}`);
  const magnitude = digits <= EXACT_DIGITS ? BigInt(sum) : BigInt(dot === -1 ? text.slice(from) : text.slice(from, dot) + text.slice(dot + 1));
  return { coefficient: negative ? -magnitude : magnitude, exponent: dot === -1 ? 0 : length - dot - 1 };
}

/** 10^0 … 10^79, so scaling by a power of ten is a lookup, not an exponentiation. */
const POW10: readonly bigint[] = Array.from({ length: 80 }, (_, k) => 10n ** BigInt(k));

export function pow10(k: number): bigint {
  return POW10[k] ?? 10n ** BigInt(k);
}

export function decimalOf(coefficient: bigint, exponent = 0): Decimal {
  return { coefficient, exponent };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exponent = Math.max(a.exponent, b.exponent);
  return [a.coefficient * pow10(exponent - a.exponent), b.coefficient * pow10(exponent - b.exponent), exponent];
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
  const scaled = a.coefficient * pow10(extraDigits);
  return { coefficient: divideHalfEven(scaled, divisor), exponent: a.exponent + extraDigits };
}

/** The value in atomic units at `scale` decimal places, rounded half-even. */
export function toAtomic(d: Decimal, scale: number): bigint {
  if (d.exponent <= scale) return d.coefficient * pow10(scale - d.exponent);
  return divideHalfEven(d.coefficient, pow10(d.exponent - scale));
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
