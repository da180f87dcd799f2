/** How amounts and times read on screen. Amounts arrive as decimal strings and are never parsed into floats. */

const group = (digits: string): string => digits.replace(/\B(?=(\d{3})+$)/g, ',');

/** A decimal string (USD) with `places` decimals, rounded half away from zero, grouped by thousands. */
export function usd(decimal: string, places = 4): string {
  const negative = decimal.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? decimal.slice(1) : decimal).split('.');
  const kept = BigInt(`${whole}${fraction.padEnd(places, '0').slice(0, places)}`);
  const rounded = kept + (Number(fraction[places] ?? '0') >= 5 ? 1n : 0n);
  const s = rounded.toString().padStart(places + 1, '0');
  const int = s.slice(0, s.length - places);
  const body = places === 0 ? group(int) : `${group(int)}.${s.slice(-places)}`;
  return `${negative && rounded !== 0n ? '−' : ''}$${body}`;
}

/** Nano-USD (an integer string) as USD. */
export function nanoUsd(nano: string, places = 4): string {
  const negative = nano.startsWith('-');
  const digits = (negative ? nano.slice(1) : nano).padStart(10, '0');
  return usd(`${negative ? '-' : ''}${digits.slice(0, -9)}.${digits.slice(-9)}`, places);
}

/** A number for drawing only (chart axes, bar widths), never for money arithmetic. */
export function nanoToNumber(nano: string): number {
  return Number(nano) / 1e9;
}

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}
