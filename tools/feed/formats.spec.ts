import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { energyTariffSchema, spotPriceTickSchema, type EnergyTariff, type SpotPriceTick } from '#contracts';
import { awsSpot, convert, FeedFormatError, gpuSnapshot, octopusAgile, shift } from './formats.js';

// The real files, copied into the project (test/fixtures/README.md says from where).
const DATA = new URL('../../test/fixtures/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, DATA), 'utf8');

const ticks = (text: string) => awsSpot(text).map((m) => (m.kind === 'tick' ? m.tick : (undefined as never)));

describe('aws-spot', () => {
  const all: SpotPriceTick[] = ticks(read('aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv'));

  it('turns every row of the real file into a valid tick, oldest first', () => {
    expect(all).toHaveLength(869);
    for (const t of all) expect(spotPriceTickSchema.safeParse(t).success).toBe(true);
    const starts = all.map((t) => Date.parse(t.validFrom));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(new Set(all.map((t) => t.region))).toEqual(new Set(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f'].filter((z) => all.some((t) => t.region === z))));
  });

  it('makes each row a step that holds until the next row of its zone, with contiguous seqs', () => {
    const byOffer = new Map<string, SpotPriceTick[]>();
    for (const t of all) byOffer.set(t.offerId, [...(byOffer.get(t.offerId) ?? []), t]);
    for (const history of byOffer.values()) {
      history.forEach((t, i) => {
        expect(t.seq).toBe(i + 1);
        const next = history[i + 1];
        if (next !== undefined) expect(t.validUntil).toBe(next.validFrom);
      });
    }
  });

  it('keeps the prices exactly as written', () => {
    // The file's newest row: 2023-12-30 21:17:02+00:00, us-east-1e, 0.156700.
    const last = all.filter((t) => t.region === 'us-east-1e').at(-1);
    expect(last).toMatchObject({ price: '0.156700', validFrom: '2023-12-30T21:17:02.000Z' });
  });

  it('names the line of a malformed row', () => {
    const text = 'Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone\n2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,0.15,us-east-1e\n2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,cheap,us-east-1e\n';
    expect(() => awsSpot(text)).toThrow(new FeedFormatError(3, 'SpotPrice is not a decimal number: "cheap"'));
    expect(() => awsSpot('h\nnot,enough,columns\n')).toThrow(/line 2: aws-spot rows have 5 columns/);
  });
});

describe('gpu-snapshot', () => {
  it('turns every row of the real snapshot into a distinct, valid offer', () => {
    const messages = gpuSnapshot(read('gpu_cloud_price_observations_2026-09-29.csv'));
    expect(messages).toHaveLength(537);
    const offers = new Set<string>();
    for (const m of messages) {
      if (m.kind !== 'tick') throw new Error('ticks only');
      expect(spotPriceTickSchema.safeParse(m.tick).success).toBe(true);
      offers.add(`${m.tick.providerId}/${m.tick.offerId}`);
    }
    expect(offers.size).toBe(537);
  });

  it('refuses a file with another header', () => {
    expect(() => gpuSnapshot('a,b\n1,2\n')).toThrow(/line 1: expected the header/);
  });
});

describe('octopus-agile', () => {
  const days: EnergyTariff[] = octopusAgile(read('octopus_agile_A_Eastern_England_2018-12.csv')).map((m) => (m.kind === 'tariff' ? m.tariff : (undefined as never)));

  it('groups the half-hours by UTC day and keeps negative prices', () => {
    expect(days).toHaveLength(31);
    expect(days.reduce((n, d) => n + d.slots.length, 0)).toBe(1_488);
    for (const d of days) expect(energyTariffSchema.safeParse(d).success).toBe(true);
    const negative = days.flatMap((d) => d.slots).filter((s) => s.price.startsWith('-'));
    expect(negative.map((s) => s.price)).toEqual(['-0.882', '-1.323', '-2.4255']);
    expect(negative[0]).toEqual({ start: '2018-12-08T03:30:00.000Z', end: '2018-12-08T04:00:00.000Z', price: '-0.882' });
    expect(days[0]).toMatchObject({ zone: 'octopus-agile-A', currency: 'GBX', unit: 'kWh', kind: 'retail' });
  });

  it('names the line of a slot off the half hour', () => {
    expect(() => octopusAgile('2018-02-19T00:10:00Z,00:10,A,Eastern_England,9.2\n')).toThrow(/line 1: slot start is not on a half hour/);
  });
});

describe('shift', () => {
  it('moves every instant of a message, and nothing else', () => {
    const [m] = convert('octopus-agile', '2018-02-19T00:00:00Z,00:00,A,Eastern_England,9.2715\n');
    const moved = shift(m!, 86_400_000);
    expect(moved).toMatchObject({ kind: 'tariff', tariff: { seq: 17_581, slots: [{ start: '2018-02-20T00:00:00.000Z', end: '2018-02-20T00:30:00.000Z', price: '9.2715' }] } });
  });
});
