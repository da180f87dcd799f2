import type { EnergyTariff, SpotPriceTick } from '#contracts';

/**
 * Converters from real price files to the contract messages. Pure: a file's text in, messages out,
 * in publication order, or a FeedFormatError naming the line. Every tick and tariff is exactly what
 * the live engine accepts, so a replay and a backtest see the same input.
 */
export const FORMATS = ['aws-spot', 'gpu-snapshot', 'octopus-agile'] as const;
export type FeedFormat = (typeof FORMATS)[number];

export type FeedMessage = { readonly kind: 'tick'; readonly tick: SpotPriceTick } | { readonly kind: 'tariff'; readonly tariff: EnergyTariff };

export interface FeedOptions {
  /** Overrides the provider id of every tick (aws-spot defaults to `aws`). */
  readonly provider?: string;
  /** Grid zone of the ticks (aws-spot) or of the tariff (octopus-agile). */
  readonly zone?: string;
  /** Units on offer per tick. */
  readonly capacity?: string;
  /** kWh per unit and whether the price includes energy (cloud list prices do). */
  readonly energyKwhPerUnit?: string;
  readonly energyIncluded?: boolean;
}

export class FeedFormatError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'FeedFormatError';
  }
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

interface Row {
  readonly line: number;
  readonly cells: string[];
}

function rows(text: string, header: boolean): Row[] {
  const lines = text.split(/\r?\n/);
  const out: Row[] = [];
  lines.forEach((raw, i) => {
    if (i === 0 && header) return;
    if (raw.trim() === '') return;
    out.push({ line: i + 1, cells: raw.split(',').map((c) => c.trim()) });
  });
  return out;
}

function instant(row: Row, text: string, what: string): number {
  // AWS writes "2023-12-30 21:17:02+00:00": ISO but for the space.
  const ms = Date.parse(text.replace(' ', 'T'));
  if (Number.isNaN(ms)) throw new FeedFormatError(row.line, `${what} is not a date: ${JSON.stringify(text)}`);
  return ms;
}

function decimal(row: Row, text: string | undefined, what: string): string {
  if (text === undefined || !DECIMAL.test(text)) throw new FeedFormatError(row.line, `${what} is not a decimal number: ${JSON.stringify(text)}`);
  // Canonical form: no leading '+', no redundant leading zeros (the contract's decimal grammar).
  const [whole = '0', fraction] = text.replace(/^-/, '').split('.');
  const sign = text.startsWith('-') ? '-' : '';
  const canonical = `${sign}${BigInt(whole).toString()}${fraction === undefined ? '' : `.${fraction}`}`;
  return canonical === '-0' ? '0' : canonical;
}

function expectColumns(row: Row, n: number, format: string): void {
  if (row.cells.length !== n) throw new FeedFormatError(row.line, `${format} rows have ${n} columns, this one has ${row.cells.length}`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `aws ec2 describe-spot-price-history` CSV: Timestamp,InstanceType,ProductDescription,SpotPrice,
 * AvailabilityZone, newest first. Each row is a step change that holds until the next row of the
 * same zone; the zone's last row holds for a week. One offer per instance type and zone, with
 * seq = the row's position in the zone's history, so replaying a file twice changes nothing.
 */
export function awsSpot(text: string, options: FeedOptions = {}): FeedMessage[] {
  const parsed = rows(text, true).map((row) => {
    expectColumns(row, 5, 'aws-spot');
    const [ts = '', type = '', , price, zone = ''] = row.cells;
    if (!/^[a-z0-9]+\.[a-z0-9]+$/.test(type)) throw new FeedFormatError(row.line, `not an instance type: ${JSON.stringify(type)}`);
    if (!/^[a-z]{2}-[a-z]+-\d[a-z]$/.test(zone)) throw new FeedFormatError(row.line, `not an availability zone: ${JSON.stringify(zone)}`);
    return { row, at: instant(row, ts, 'Timestamp'), type, zone, price: decimal(row, price, 'SpotPrice') };
  });
  // Chronological, stable for equal instants (file order reversed, as the file is newest first).
  const ordered = parsed.map((p, i) => ({ ...p, order: -i })).sort((a, b) => a.at - b.at || a.order - b.order);
  const byOffer = new Map<string, typeof ordered>();
  for (const p of ordered) {
    const key = `${p.type}:${p.zone}`;
    byOffer.set(key, [...(byOffer.get(key) ?? []), p]);
  }
  const provider = options.provider ?? 'aws';
  const messages: { at: number; order: number; message: FeedMessage }[] = [];
  for (const [offerId, history] of byOffer) {
    history.forEach((p, i) => {
      const next = history[i + 1];
      const until = next === undefined ? p.at + 7 * 86_400_000 : Math.max(next.at, p.at + 1_000);
      messages.push({
        at: p.at,
        order: p.order,
        message: {
          kind: 'tick',
          tick: {
            providerId: provider,
            offerId,
            seq: i + 1,
            instrument: `gpu:${p.type}`,
            region: p.zone,
            gridZone: options.zone ?? p.zone.slice(0, -1),
            price: p.price,
            currency: 'USD',
            energyKwhPerUnit: options.energyKwhPerUnit ?? '0.2',
            energyIncluded: options.energyIncluded ?? true,
            capacity: options.capacity ?? '100',
            validFrom: iso(p.at),
            validUntil: iso(until),
            attributes: { tier: 'spot', interruptible: true, dataPolicy: 'no-retention', hardware: p.type },
            publishedAt: iso(p.at),
          },
        },
      });
    });
  }
  return messages.sort((a, b) => a.at - b.at || a.order - b.order).map((m) => m.message);
}

const GPU_HEADER = 'date,collected_at,source,provider,segment,pricing,gpu_model,sku,region,geo,gpu_count,usd_per_hour,usd_per_gpu_hour,sample_size';

/**
 * A GPU price snapshot (one row per provider, SKU, region and pricing): one tick per row, priced
 * per GPU-hour, valid for a day from collection. seq = collection time in seconds, so a later
 * snapshot of the same offer supersedes an earlier one.
 */
export function gpuSnapshot(text: string, options: FeedOptions = {}): FeedMessage[] {
  const header = text.split(/\r?\n/, 1)[0]?.trim();
  if (header !== GPU_HEADER) throw new FeedFormatError(1, `expected the header ${GPU_HEADER}`);
  const seen = new Set<string>();
  return rows(text, true).map((row): FeedMessage => {
    expectColumns(row, 14, 'gpu-snapshot');
    const [, collectedAt = '', , providerName = '', , pricing = '', model = '', sku = '', region = '', , count, , perGpu] = row.cells;
    const at = instant(row, collectedAt, 'collected_at');
    if (pricing !== 'spot' && pricing !== 'on_demand') throw new FeedFormatError(row.line, `pricing must be spot or on_demand: ${JSON.stringify(pricing)}`);
    const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
    // The provider column, not the source: one source (RunPod) sells through two clouds.
    const provider = options.provider ?? slug(providerName);
    const offerId = `${slug(sku)}:${slug(model)}:${slug(region)}:${pricing === 'spot' ? 'spot' : 'od'}`;
    if (provider === '' || slug(model) === '' || slug(region) === '') throw new FeedFormatError(row.line, 'provider, gpu_model and region must not be empty');
    // The same offer twice in one snapshot: keep the first (the file has no tie-breaker).
    const identity = `${provider}/${offerId}`;
    if (seen.has(identity)) throw new FeedFormatError(row.line, `duplicate offer ${identity} in one snapshot`);
    seen.add(identity);
    const gpus = decimal(row, count, 'gpu_count');
    return {
      kind: 'tick',
      tick: {
        providerId: provider,
        offerId,
        seq: Math.floor(at / 1_000),
        instrument: `gpu:${slug(model)}`,
        region: slug(region),
        gridZone: options.zone ?? slug(region),
        price: decimal(row, perGpu, 'usd_per_gpu_hour'),
        currency: 'USD',
        energyKwhPerUnit: options.energyKwhPerUnit ?? '0.7',
        energyIncluded: options.energyIncluded ?? true,
        capacity: options.capacity ?? gpus,
        validFrom: iso(at),
        validUntil: iso(at + 86_400_000),
        attributes: { tier: pricing === 'spot' ? 'spot' : 'on-demand', interruptible: pricing === 'spot', dataPolicy: 'no-retention', hardware: model.slice(0, 64) },
        publishedAt: iso(at),
      },
    };
  });
}

/**
 * Octopus Agile half-hourly import prices, no header: UTC slot start, local time, region letter,
 * region name, pence per kWh including VAT. One tariff message per UTC day (48 slots), seq = the
 * day's number since 1970, currency GBX, unit kWh. Negative prices are kept: the customer is paid.
 */
export function octopusAgile(text: string, options: FeedOptions = {}): FeedMessage[] {
  const days = new Map<number, { region: string; slots: { start: number; price: string }[] }>();
  for (const row of rows(text, false)) {
    expectColumns(row, 5, 'octopus-agile');
    const [start = '', , letter = '', , price] = row.cells;
    if (!/^[A-P]$/.test(letter)) throw new FeedFormatError(row.line, `not an Octopus region letter: ${JSON.stringify(letter)}`);
    const at = instant(row, start, 'slot start');
    if (at % 1_800_000 !== 0) throw new FeedFormatError(row.line, `slot start is not on a half hour: ${start}`);
    const day = Math.floor(at / 86_400_000);
    const entry = days.get(day) ?? { region: letter, slots: [] };
    entry.slots.push({ start: at, price: decimal(row, price, 'price') });
    days.set(day, entry);
  }
  return [...days.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, { region, slots }]): FeedMessage => {
      const ordered = [...new Map(slots.map((s) => [s.start, s])).values()].sort((a, b) => a.start - b.start);
      const last = ordered[ordered.length - 1]?.start ?? day * 86_400_000;
      return {
        kind: 'tariff',
        tariff: {
          zone: options.zone ?? `octopus-agile-${region}`,
          kind: 'retail',
          currency: 'GBX',
          unit: 'kWh',
          slots: ordered.map((s) => ({ start: iso(s.start), end: iso(s.start + 1_800_000), price: s.price })),
          seq: day,
          publishedAt: iso(Math.min(last, day * 86_400_000)),
        },
      };
    });
}

export function convert(format: FeedFormat, text: string, options: FeedOptions = {}): FeedMessage[] {
  switch (format) {
    case 'aws-spot':
      return awsSpot(text, options);
    case 'gpu-snapshot':
      return gpuSnapshot(text, options);
    case 'octopus-agile':
      return octopusAgile(text, options);
  }
}

/** When a message takes effect: what a replay paces on and shifts in time. */
export function effectiveAt(m: FeedMessage): number {
  return Date.parse(m.kind === 'tick' ? m.tick.validFrom : (m.tariff.slots[0]?.start ?? m.tariff.publishedAt));
}

/** The same message moved by `deltaMs` (validity, publication and slots alike). */
export function shift(m: FeedMessage, deltaMs: number): FeedMessage {
  const by = (s: string) => iso(Date.parse(s) + deltaMs);
  if (m.kind === 'tick') {
    const t = m.tick;
    return { kind: 'tick', tick: { ...t, validFrom: by(t.validFrom), validUntil: by(t.validUntil), publishedAt: by(t.publishedAt) } };
  }
  const t = m.tariff;
  return {
    kind: 'tariff',
    tariff: { ...t, publishedAt: by(t.publishedAt), slots: t.slots.map((s) => ({ ...s, start: by(s.start), end: by(s.end) })) },
  };
}
