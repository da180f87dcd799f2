import { get, stream } from '../api.js';
import { badge, h, panel, replace, table, throttle } from '../dom.js';
import { dateTime, nanoUsd, shortId } from '../format.js';
import type { View } from './view.js';

interface Job {
  id: string;
  customerId: string;
  status: string;
  reason: string | null;
  instrument: string;
  quantity: string;
  filledQuantity: string;
  limitPrice: string;
  createdAt: string;
}
interface Against {
  savedNanoUsd: string;
}
interface JobSavings {
  id: string;
  savings: { paidNanoUsd: string; firstListed: Against | null; cheapestIgnoringEnergy: Against | null };
}
export interface SavingsTotals {
  customerId: string;
  jobs: number;
  paidNanoUsd: string;
  savedVsFirstListedNanoUsd: string;
  savedVsCheapestIgnoringEnergyNanoUsd: string;
}

const TONES: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = { completed: 'ok', running: 'info', dispatched: 'info', matched: 'info', queued: 'warn', deferred: 'warn', submitted: 'warn', cancelled: 'bad', expired: 'bad', failed: 'bad' };

export function savingsTable(caption: string, totals: readonly SavingsTotals[]): HTMLTableElement {
  return table(
    caption,
    [
      { label: 'Customer', cell: (t: SavingsTotals) => t.customerId },
      { label: 'Completed jobs', numeric: true, cell: (t) => String(t.jobs) },
      { label: 'Paid', numeric: true, cell: (t) => nanoUsd(t.paidNanoUsd) },
      { label: 'Saved vs first-listed', numeric: true, cell: (t) => nanoUsd(t.savedVsFirstListedNanoUsd) },
      { label: 'Saved vs cheapest ignoring energy', numeric: true, cell: (t) => nanoUsd(t.savedVsCheapestIgnoringEnergyNanoUsd) },
    ],
    totals,
    (t) => t.customerId,
  );
}

/** A customer's job board, live: each job's status, fill and what it saved; and the totals. */
export const jobsView: View = {
  id: 'jobs',
  label: 'Jobs',
  roles: ['customer'],
  mount(root, _me, signal) {
    const board = h('div', { id: 'job-board', 'aria-live': 'polite' });
    const totals = h('div', { id: 'savings-totals' });
    replace(
      root,
      panel('jobs-panel', 'Your jobs, newest first', h('p', { class: 'muted' }, 'Updates as each job moves: queued, matched, running, completed.'), board),
      panel('savings', 'What the market saved you', h('p', { class: 'muted' }, 'Against the first-listed eligible offer and the cheapest one on compute alone, at each job’s submission (energy included at both).'), totals),
    );
    const load = async () => {
      const [jobs, savings] = await Promise.all([get<{ items: Job[] }>('/v1/jobs?limit=50'), get<{ totals: SavingsTotals[]; jobs: JobSavings[] }>('/v1/savings?jobs=200')]);
      const saved = new Map(savings.jobs.map((j) => [j.id, j.savings]));
      replace(
        board,
        table(
          'Jobs',
          [
            { label: 'Job', cell: (j: Job) => h('code', { title: j.id }, shortId(j.id)) },
            { label: 'Instrument', cell: (j) => j.instrument },
            { label: 'Status', cell: (j) => badge(j.status, TONES[j.status] ?? 'info') },
            { label: 'Filled', numeric: true, cell: (j) => `${j.filledQuantity} / ${j.quantity}` },
            { label: 'Limit / unit', numeric: true, cell: (j) => `$${j.limitPrice}` },
            { label: 'Paid', numeric: true, cell: (j) => (saved.has(j.id) ? nanoUsd(saved.get(j.id)?.paidNanoUsd ?? '0') : '—') },
            { label: 'Saved vs first-listed', numeric: true, cell: (j) => {
                const a = saved.get(j.id)?.firstListed;
                return a === null || a === undefined ? '—' : nanoUsd(a.savedNanoUsd);
              } },
            { label: 'Submitted', cell: (j) => dateTime(j.createdAt) },
          ],
          jobs.items,
          (j) => j.id,
        ),
      );
      replace(totals, savingsTable('Totals', savings.totals));
    };
    const refresh = throttle(() => void load().catch(() => undefined), 1_000);
    void load().catch(() => undefined);
    stream('/v1/stream/jobs', () => refresh(), signal);
  },
};
