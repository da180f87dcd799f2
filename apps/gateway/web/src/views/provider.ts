import { get } from '../api.js';
import { badge, h, panel, replace, table, throttle } from '../dom.js';
import { dateTime, nanoUsd, shortId } from '../format.js';
import type { View } from './view.js';

interface Offer {
  offerId: string;
  instrument: string;
  region: string;
  price: string;
  currency: string;
  capacity: string;
  validUntil: string;
  quote: { computeNanoUsd: string; energyNanoUsd: string; effectiveNanoUsd: string } | null;
}
interface Fill {
  id: string;
  jobId: string;
  offerId: string;
  instrument: string;
  region: string;
  quantityMicro: string;
  amountNanoUsd: string;
  matchedAt: string;
  run: { status: string } | null;
}
interface Statement {
  period: string;
  lines: { jobId: string | null; kind: string; amountNanoUsd: string }[];
  totalNanoUsd: string;
}

const micro = (m: string) => (Number(m) / 1e6).toString();
const month = () => new Date().toISOString().slice(0, 7);

/** A provider's side: its offers as quoted, the work it was given, and what it is owed this month. */
export const providerView: View = {
  id: 'provider',
  label: 'Provider',
  roles: ['provider'],
  mount(root, me, signal) {
    const offers = h('div', { id: 'provider-offers' });
    const fills = h('div', { id: 'provider-fills', 'aria-live': 'polite' });
    const payouts = h('div', { id: 'provider-payouts' });
    replace(root, panel('offers', `Offers of ${me.id}`, offers), panel('fills', 'Fills: work allocated to you', fills), panel('payouts', `Payouts for ${month()}`, payouts));
    const load = async () => {
      const [o, f, s] = await Promise.all([
        get<{ items: Offer[] }>('/v1/provider/offers'),
        get<{ items: Fill[] }>('/v1/provider/allocations?limit=50'),
        get<Statement>(`/v1/finance/statements?period=${month()}`),
      ]);
      replace(
        offers,
        table(
          'Offers',
          [
            { label: 'Offer', cell: (x: Offer) => x.offerId },
            { label: 'Instrument', cell: (x) => x.instrument },
            { label: 'Region', cell: (x) => x.region },
            { label: 'Published', numeric: true, cell: (x) => `${x.price} ${x.currency}` },
            { label: 'Effective', numeric: true, cell: (x) => (x.quote === null ? badge('not quoted', 'warn') : nanoUsd(x.quote.effectiveNanoUsd)) },
            { label: 'Energy part', numeric: true, cell: (x) => (x.quote === null ? '—' : nanoUsd(x.quote.energyNanoUsd)) },
            { label: 'Capacity', numeric: true, cell: (x) => x.capacity },
            { label: 'Valid until', cell: (x) => dateTime(x.validUntil) },
          ],
          o.items,
          (x) => x.offerId,
        ),
      );
      replace(
        fills,
        table(
          'Fills',
          [
            { label: 'Job', cell: (x: Fill) => h('code', { title: x.jobId }, shortId(x.jobId)) },
            { label: 'Offer', cell: (x) => x.offerId },
            { label: 'Quantity', numeric: true, cell: (x) => micro(x.quantityMicro) },
            { label: 'Amount', numeric: true, cell: (x) => nanoUsd(x.amountNanoUsd) },
            { label: 'Run', cell: (x) => (x.run === null ? badge('waiting', 'warn') : badge(x.run.status, x.run.status === 'completed' || x.run.status === 'succeeded' ? 'ok' : x.run.status === 'failed' ? 'bad' : 'info')) },
            { label: 'Matched', cell: (x) => dateTime(x.matchedAt) },
          ],
          f.items,
          (x) => x.id,
        ),
      );
      replace(payouts, h('p', { class: 'figure' }, `Owed to you for ${s.period}: `, h('strong', {}, nanoUsd(s.totalNanoUsd)), ` across ${s.lines.length} lines.`));
    };
    // No stream carries a provider's fills: the view reads them again every few seconds.
    const refresh = throttle(() => void load().catch(() => undefined), 1_000);
    refresh();
    const timer = setInterval(refresh, 5_000);
    signal.addEventListener('abort', () => clearInterval(timer));
  },
};
