import { get, stream } from '../api.js';
import { TimeChart } from '../chart.js';
import { h, panel, replace, table, throttle } from '../dom.js';
import { nanoToNumber, nanoUsd, time } from '../format.js';
import type { View } from './view.js';

interface Instrument {
  instrument: string;
  regions: string[];
  offers: number;
  bestEffectiveNanoUsd: string;
}
interface Ask {
  providerId: string;
  offerId: string;
  region: string;
  gridZone: string;
  computeNanoUsd: string;
  energyNanoUsd: string;
  effectiveNanoUsd: string;
  available: string;
  cumulative: string;
}
interface Depth {
  asks: Ask[];
  regions: { region: string; asks: number; available: string; bestEffectiveNanoUsd: string }[];
  asOf: string;
}
interface Ohlc {
  series: { region: string; start: string; close: string; currency: string }[];
}
interface Slot {
  start: string;
  price: string;
  currency: string;
  unit: string;
  kind: string;
}

const HOUR = 3_600_000;

/** The ask ladder as bars: compute and energy side by side, scaled to the dearest ask shown. */
function splitBar(a: Ask, max: number): HTMLElement {
  const compute = nanoToNumber(a.computeNanoUsd);
  const energy = nanoToNumber(a.energyNanoUsd);
  const pct = (v: number) => `${max <= 0 ? 0 : Math.max(0, (v / max) * 100).toFixed(1)}%`;
  return h(
    'div',
    { class: 'split', role: 'img', 'aria-label': `compute ${nanoUsd(a.computeNanoUsd)}, energy ${nanoUsd(a.energyNanoUsd)}` },
    h('span', { class: 'compute', style: `width:${pct(compute)}` }),
    h('span', { class: 'energy', style: `width:${pct(energy)}` }),
  );
}

/** Live depth per instrument and region, the effective price over time, and the grid zone's tariff. */
export const marketView: View = {
  id: 'market',
  label: 'Market',
  roles: ['customer', 'provider', 'finance', 'admin'],
  mount(root, _me, signal) {
    const instrumentSelect = h('select', { id: 'instrument', name: 'instrument' });
    const regionSelect = h('select', { id: 'region', name: 'region' });
    const depthBox = h('div', { id: 'depth-table', 'aria-live': 'polite', 'aria-busy': 'true' });
    const regionsBox = h('div', { id: 'depth-regions' });
    const priceChart = new TimeChart('Best effective price (energy included) and the published compute price', [
      { label: 'best effective, live', color: '#0b6e4f' },
      { label: 'published compute (5-min close)', color: '#5e4fa2' },
    ], 'USD / unit');
    const tariffChart = new TimeChart('Energy tariff of the best ask’s grid zone', [{ label: 'tariff', color: '#b4531a', stepped: true }], 'price');
    const tariffZone = h('p', { class: 'muted' });
    signal.addEventListener('abort', () => {
      priceChart.destroy();
      tariffChart.destroy();
    });

    replace(
      root,
      h(
        'div',
        { class: 'controls' },
        h('label', { for: 'instrument' }, 'Instrument ', instrumentSelect),
        h('label', { for: 'region' }, 'Region ', regionSelect),
      ),
      panel('depth', 'Order book: asks, cheapest first', regionsBox, depthBox),
      h('div', { class: 'grid' }, panel('prices', 'Effective price over time', priceChart.element), panel('tariff', 'Energy tariff', tariffZone, tariffChart.element)),
    );

    let instruments: Instrument[] = [];
    let live: { t: number[]; best: (number | null)[] } = { t: [], best: [] };
    let history: { t: number; close: number }[] = [];
    let streamAbort: AbortController | undefined;
    let zone: string | undefined;

    const drawPrices = () => {
      const xs = [...new Set([...history.map((p) => p.t), ...live.t])].sort((a, b) => a - b);
      const hist = new Map(history.map((p) => [p.t, p.close]));
      const best = new Map(live.t.map((t, i) => [t, live.best[i] ?? null]));
      const last = live.best.at(-1);
      priceChart.set(xs, [xs.map((x) => best.get(x) ?? null), xs.map((x) => hist.get(x) ?? null)], last === undefined || last === null ? 'No live price yet.' : `Best effective price now: $${last.toFixed(4)} per unit.`);
    };

    const loadDepth = async () => {
      const instrument = instrumentSelect.value;
      if (instrument === '') return;
      const region = regionSelect.value;
      const depth = await get<Depth>(`/v1/depth?instrument=${encodeURIComponent(instrument)}${region === '' ? '' : `&region=${encodeURIComponent(region)}`}`);
      const max = Math.max(0, ...depth.asks.slice(0, 50).map((a) => nanoToNumber(a.effectiveNanoUsd)));
      replace(
        depthBox,
        table(
          `Asks for ${instrument}${region === '' ? ' in every region' : ` in ${region}`}, as of ${time(depth.asOf)}`,
          [
            { label: 'Effective / unit', numeric: true, cell: (a: Ask) => nanoUsd(a.effectiveNanoUsd) },
            { label: 'Compute | energy', cell: (a: Ask) => splitBar(a, max) },
            { label: 'Compute', numeric: true, cell: (a: Ask) => nanoUsd(a.computeNanoUsd) },
            { label: 'Energy', numeric: true, cell: (a: Ask) => nanoUsd(a.energyNanoUsd) },
            { label: 'Available', numeric: true, cell: (a: Ask) => a.available },
            { label: 'Depth', numeric: true, cell: (a: Ask) => a.cumulative },
            { label: 'Provider', cell: (a: Ask) => a.providerId },
            { label: 'Region', cell: (a: Ask) => a.region },
          ],
          depth.asks.slice(0, 50),
          (a) => `${a.providerId}/${a.offerId}`,
        ),
      );
      depthBox.setAttribute('aria-busy', 'false');
      replace(regionsBox, h('ul', { class: 'chips' }, ...depth.regions.map((r) => h('li', {}, `${r.region}: ${r.asks} ${r.asks === 1 ? 'ask' : 'asks'}, ${r.available} units, from ${nanoUsd(r.bestEffectiveNanoUsd)}`))));
      const best = depth.asks[0];
      live.t.push(Math.floor(Date.now() / 1_000));
      live.best.push(best === undefined ? null : nanoToNumber(best.effectiveNanoUsd));
      if (live.t.length > 2_000) live = { t: live.t.slice(-1_000), best: live.best.slice(-1_000) };
      drawPrices();
      if (best !== undefined && best.gridZone !== zone) {
        zone = best.gridZone;
        void loadTariff(zone);
      }
    };
    const refreshDepth = throttle(() => void loadDepth().catch(() => undefined), 1_000);

    const loadHistory = async (instrument: string) => {
      const to = new Date(Date.now() + 60_000);
      const from = new Date(to.getTime() - 24 * HOUR);
      const region = regionSelect.value;
      const ohlc = await get<Ohlc>(`/v1/instruments/${encodeURIComponent(instrument)}/ohlc?from=${from.toISOString()}&to=${to.toISOString()}&interval=5m${region === '' ? '' : `&region=${encodeURIComponent(region)}`}`);
      // One line: the lowest close across regions per bucket (USD series only; others are not comparable).
      const byT = new Map<number, number>();
      for (const s of ohlc.series.filter((p) => p.currency === 'USD')) {
        const t = Math.floor(Date.parse(s.start) / 1_000);
        const v = Number(s.close);
        byT.set(t, Math.min(v, byT.get(t) ?? Number.POSITIVE_INFINITY));
      }
      history = [...byT.entries()].map(([t, close]) => ({ t, close }));
      drawPrices();
    };

    const loadTariff = async (z: string) => {
      const from = new Date(Date.now() - 12 * HOUR);
      const to = new Date(Date.now() + 36 * HOUR);
      const page = await get<{ items: Slot[] }>(`/v1/zones/${encodeURIComponent(z)}/tariffs?from=${from.toISOString()}&to=${to.toISOString()}&limit=500`);
      const slots = page.items;
      const first = slots[0];
      tariffZone.textContent = first === undefined ? `Grid zone ${z}: no tariff published.` : `Grid zone ${z}: ${first.kind} tariff, ${first.currency} per ${first.unit}.`;
      const now = slots.find((s) => Date.parse(s.start) <= Date.now() && Date.now() - Date.parse(s.start) < HOUR / 2);
      tariffChart.set(
        slots.map((s) => Math.floor(Date.parse(s.start) / 1_000)),
        [slots.map((s) => Number(s.price))],
        now === undefined ? 'No slot in force now.' : `In force now: ${now.price} ${now.currency}/${now.unit}.`,
      );
    };

    const select = (instrument: string) => {
      const inst = instruments.find((i) => i.instrument === instrument);
      replace(regionSelect, h('option', { value: '' }, 'All regions'), ...(inst?.regions ?? []).map((r) => h('option', { value: r }, r)));
      live = { t: [], best: [] };
      history = [];
      zone = undefined;
      streamAbort?.abort();
      streamAbort = new AbortController();
      signal.addEventListener('abort', () => streamAbort?.abort(), { once: true });
      stream(`/v1/stream/quotes?instrument=${encodeURIComponent(instrument)}`, () => refreshDepth(), streamAbort.signal);
      void loadDepth().catch(() => undefined);
      void loadHistory(instrument).catch(() => undefined);
    };

    instrumentSelect.addEventListener('change', () => select(instrumentSelect.value));
    regionSelect.addEventListener('change', () => {
      live = { t: [], best: [] };
      void loadDepth().catch(() => undefined);
      void loadHistory(instrumentSelect.value).catch(() => undefined);
    });

    const loadInstruments = async () => {
      const answer = await get<{ instruments: Instrument[] }>('/v1/instruments');
      const current = instrumentSelect.value;
      instruments = answer.instruments;
      replace(instrumentSelect, ...instruments.map((i) => h('option', { value: i.instrument, selected: i.instrument === current }, `${i.instrument} (${i.offers} offers, from ${nanoUsd(i.bestEffectiveNanoUsd)})`)));
      if (instruments.length === 0) replace(depthBox, h('p', { class: 'empty' }, 'No live quotes yet: the market is waiting for its first prices.'));
      else if (current === '' || !instruments.some((i) => i.instrument === current)) select(instrumentSelect.value);
    };
    void loadInstruments().catch(() => undefined);
    // New instruments appear as providers publish; the list is cheap to refresh.
    const timer = setInterval(() => void loadInstruments().catch(() => undefined), 15_000);
    signal.addEventListener('abort', () => clearInterval(timer));
  },
};
