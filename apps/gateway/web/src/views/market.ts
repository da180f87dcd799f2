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
interface EffectiveHistory {
  points: { at: string; computeNanoUsd: string; effectiveNanoUsd: string }[];
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
    const priceChart = new TimeChart('Best effective price (energy included) and its compute part, last 24 hours and live', [
      { label: 'best effective', color: '#0b6e4f' },
      { label: 'its compute part', color: '#5e4fa2' },
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
    let live: { t: number[]; best: (number | null)[]; compute: (number | null)[] } = { t: [], best: [], compute: [] };
    let history: { t: number; best: number; compute: number }[] = [];
    let streamAbort: AbortController | undefined;
    let zone: string | undefined;

    const drawPrices = () => {
      // History (recomputed from ticks, tariffs and rates), then what the live depth said since.
      const since = history.at(-1)?.t ?? 0;
      const points = [...history.map((p) => [p.t, p.best, p.compute] as const), ...live.t.map((t, i) => [t, live.best[i] ?? null, live.compute[i] ?? null] as const).filter(([t]) => t > since)];
      const last = points.at(-1)?.[1];
      priceChart.set(points.map((p) => p[0]), [points.map((p) => p[1]), points.map((p) => p[2])], last === undefined || last === null ? 'No price yet.' : `Best effective price now: $${last.toFixed(4)} per unit.`);
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
      live.compute.push(best === undefined ? null : nanoToNumber(best.computeNanoUsd));
      if (live.t.length > 2_000) live = { t: live.t.slice(-1_000), best: live.best.slice(-1_000), compute: live.compute.slice(-1_000) };
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
      const h = await get<EffectiveHistory>(`/v1/instruments/${encodeURIComponent(instrument)}/effective?from=${from.toISOString()}&to=${to.toISOString()}&interval=5m${region === '' ? '' : `&region=${encodeURIComponent(region)}`}`);
      history = h.points.map((p) => ({ t: Math.floor(Date.parse(p.at) / 1_000), best: nanoToNumber(p.effectiveNanoUsd), compute: nanoToNumber(p.computeNanoUsd) }));
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
      live = { t: [], best: [], compute: [] };
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
      live = { t: [], best: [], compute: [] };
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
