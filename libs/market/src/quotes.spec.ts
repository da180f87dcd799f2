import { describe, expect, it } from '@jest/globals';
import { usdRatesFrom, type FxInForce } from '#pricing';
import { offerQuoteOf, offerQuoteOfPriced } from './convert.js';
import { computeQuotes, priceOffer, quoteOf, type CurrentSlot, type OfferState } from './quotes.js';

const now = new Date('2026-11-26T12:10:00Z');
const offer = (patch: Partial<OfferState> = {}): OfferState => ({
  providerId: 'acme',
  offerId: 'npu-1',
  lastSeq: 3,
  instrument: 'gpu:h100',
  region: 'uk-east',
  gridZone: 'octopus-agile-A',
  price: '2.00',
  currency: 'USD',
  energyKwhPerUnit: '0.7',
  energyIncluded: false,
  capacity: '10',
  validFrom: Date.parse('2026-11-26T00:00:00Z'),
  validUntil: Date.parse('2026-11-27T00:00:00Z'),
  attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention', hardware: 'H100 SXM' },
  ...patch,
});
const gbp: FxInForce = { base: 'GBP', quote: 'USD', rate: '1.25', asOf: new Date('2026-11-26T09:00:00Z') };
const slot = (price: string): Map<string, CurrentSlot> => new Map([['octopus-agile-A', { zone: 'octopus-agile-A', kind: 'retail', price, currency: 'GBX', unit: 'kWh', seq: 20_418, end: new Date('2026-11-26T12:30:00Z') }]]);

describe('computeQuotes', () => {
  it('prices energy from a pence tariff through the pound rate, exactly', () => {
    // 0.7 kWh × 9.2715 p/kWh = 6.49005 p = 0.0649005 GBP × 1.25 = 0.081125625 USD
    const [q] = computeQuotes([offer()], slot('9.2715'), [gbp], now);
    expect(q).toMatchObject({ ok: true, quote: { computeNanoUsd: '2000000000', energyNanoUsd: '81125625', effectiveNanoUsd: '2081125625', sources: { tickSeq: 3, tariffSeq: 20_418, fxAsOf: '2026-11-26T09:00:00.000Z' } } });
  });

  it('pays the buyer for energy in a negative slot', () => {
    // 0.7 × -0.882 p = -0.6174 p = -0.006174 GBP × 1.25 = -0.0077175 USD
    const [q] = computeQuotes([offer()], slot('-0.882'), [gbp], now);
    expect(q).toMatchObject({ ok: true, quote: { energyNanoUsd: '-7717500', effectiveNanoUsd: '1992282500' } });
  });

  it('inverts a USD→GBP rate when that is all there is', () => {
    const [q] = computeQuotes([offer()], slot('10'), [{ base: 'USD', quote: 'GBP', rate: '0.8', asOf: gbp.asOf }], now);
    // 0.7 × 10 p = 0.07 GBP / 0.8 = 0.0875 USD
    expect(q).toMatchObject({ ok: true, quote: { energyNanoUsd: '87500000' } });
  });

  it('says what is missing instead of guessing', () => {
    expect(computeQuotes([offer()], new Map(), [gbp], now)[0]).toMatchObject({ ok: false, missing: 'tariff' });
    expect(computeQuotes([offer()], slot('9'), [], now)[0]).toMatchObject({ ok: false, missing: 'fx' });
    expect(computeQuotes([offer({ validFrom: Date.parse('2026-11-26T13:00:00Z') })], slot('9'), [gbp], now)[0]).toMatchObject({ ok: false, missing: 'not-in-force' });
  });

  it('needs neither tariff nor FX when the USD price includes energy', () => {
    expect(computeQuotes([offer({ energyIncluded: true })], new Map(), [], now)[0]).toMatchObject({ ok: true, quote: { effectiveNanoUsd: '2000000000', sources: { tariffSeq: null, fxAsOf: null } } });
  });
});

describe('offerQuoteOfPriced', () => {
  it('gives the book exactly what the contract quote would, without the strings', () => {
    const cases: [OfferState, Map<string, CurrentSlot>][] = [
      [offer(), slot('9.2715')],
      [offer(), slot('-0.882')],
      [offer({ energyIncluded: true, currency: 'EUR', capacity: '12.5' }), new Map()],
      [offer({ validUntil: Date.parse('2026-11-26T12:20:00Z') }), slot('3')],
    ];
    const usd = usdRatesFrom([gbp, { base: 'EUR', quote: 'USD', rate: '1.08', asOf: gbp.asOf }]);
    for (const [o, s] of cases) {
      const outcome = priceOffer(o, s, usd, now.getTime());
      if (!outcome.ok) throw new Error(outcome.missing);
      expect(offerQuoteOfPriced(outcome.priced, now.getTime())).toEqual(offerQuoteOf(quoteOf(outcome.priced, now.getTime())));
    }
  });
});
