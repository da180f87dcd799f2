import { ApiError, get, send, stream } from '../api.js';
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

/**
 * GPU-hours of an instrument at a limit per unit, by a deadline: the everyday job. Batches of
 * OpenAI-style requests go through `POST /v1/jobs` (see /docs), not a form.
 */
function jobForm(onSubmitted: () => void): HTMLFormElement {
  const field = (id: string, label: string, input: HTMLInputElement | HTMLSelectElement, help?: string) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), input, help === undefined ? null : h('small', { id: `${id}-help`, class: 'muted' }, help));
  const instrument = h('select', { id: 'job-instrument', name: 'instrument', required: true });
  const hours = h('input', { id: 'job-hours', name: 'hours', type: 'number', min: '0.1', step: '0.1', value: '2', required: true });
  const limit = h('input', { id: 'job-limit', name: 'limit', type: 'text', inputmode: 'decimal', pattern: '\\d+(\\.\\d{1,9})?', value: '', required: true, 'aria-describedby': 'job-limit-help' });
  const within = h('input', { id: 'job-deadline', name: 'deadline', type: 'number', min: '1', max: '720', value: '4', required: true });
  const status = h('p', { class: 'form-status', role: 'status' });
  const form = h(
    'form',
    { class: 'job-form', 'aria-describedby': 'job-form-help' },
    field('job-instrument', 'Instrument', instrument),
    field('job-hours', 'GPU-hours', hours),
    field('job-limit', 'Limit, USD per GPU-hour', limit, 'The most you pay per unit, energy included; the best ask now is filled in.'),
    field('job-deadline', 'Done within (hours)', within),
    h('button', { type: 'submit' }, 'Submit'),
    status,
    h('p', { id: 'job-form-help', class: 'muted' }, 'Your balance holds the worst case (GPU-hours × limit + fee) until the job ends.'),
  );
  const best = new Map<string, string>();
  void get<{ instruments: { instrument: string; bestEffectiveUsd: string }[] }>('/v1/instruments').then((r) => {
    for (const i of r.instruments) best.set(i.instrument, i.bestEffectiveUsd);
    replace(instrument, ...r.instruments.filter((i) => i.instrument.startsWith('gpu:')).map((i) => h('option', { value: i.instrument }, i.instrument)));
    limit.value = best.get(instrument.value) ?? '';
  });
  instrument.addEventListener('change', () => (limit.value = best.get(instrument.value) ?? limit.value));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    status.textContent = 'Submitting…';
    const q = hours.value.trim();
    send<{ id: string; status: string }>(
      'POST',
      '/v1/jobs',
      { instrument: instrument.value, quantity: q, limitPrice: limit.value.trim(), deadline: new Date(Date.now() + Number(within.value) * 3_600_000).toISOString(), work: { type: 'gpu-hours', hours: q } },
      { 'idempotency-key': crypto.randomUUID() },
    ).then(
      (job) => {
        status.textContent = `Submitted job ${job.id.slice(0, 8)}…: ${job.status}.`;
        onSubmitted();
      },
      (error: unknown) => {
        status.textContent = error instanceof ApiError ? `Not submitted: ${error.detail || error.title}` : 'Not submitted: the gateway did not answer.';
      },
    );
  });
  return form;
}

/** A customer's job board, live: each job's status, fill and what it saved; and the totals. */
export const jobsView: View = {
  id: 'jobs',
  label: 'Jobs',
  roles: ['customer'],
  mount(root, _me, signal) {
    const board = h('div', { id: 'job-board', 'aria-live': 'polite' });
    const totals = h('div', { id: 'savings-totals' });
    // Savings change only when a job completes, and add up every completed job: read them then,
    // not on every step of every job as the board is.
    let saved = new Map<string, JobSavings['savings']>();
    let jobs: Job[] = [];
    const drawBoard = () =>
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
            {
              label: 'Saved vs first-listed',
              numeric: true,
              cell: (j) => {
                const a = saved.get(j.id)?.firstListed;
                return a === null || a === undefined ? '—' : nanoUsd(a.savedNanoUsd);
              },
            },
            { label: 'Submitted', cell: (j) => dateTime(j.createdAt) },
          ],
          jobs,
          (j) => j.id,
        ),
      );
    const loadBoard = async () => {
      jobs = (await get<{ items: Job[] }>('/v1/jobs?limit=50')).items;
      drawBoard();
      // A job the board shows completed but the savings do not know yet (its step reached the
      // stream before the record): read the savings again.
      if (jobs.some((j) => j.status === 'completed' && !saved.has(j.id))) refreshSavings();
    };
    const loadSavings = async () => {
      const s = await get<{ totals: SavingsTotals[]; jobs: JobSavings[] }>('/v1/savings?jobs=200');
      saved = new Map(s.jobs.map((j) => [j.id, j.savings]));
      replace(totals, savingsTable('Totals', s.totals));
      drawBoard();
    };
    const refreshBoard = throttle(() => void loadBoard().catch(() => undefined), 1_000);
    const refreshSavings = throttle(() => void loadSavings().catch(() => undefined), 3_000);
    replace(
      root,
      panel('submit-panel', 'Submit a job', jobForm(refreshBoard)),
      panel('jobs-panel', 'Your jobs, newest first', h('p', { class: 'muted' }, 'Updates as each job moves: queued, matched, running, completed.'), board),
      panel('savings', 'What the market saved you', h('p', { class: 'muted' }, 'Against the first-listed eligible offer and the cheapest one on compute alone, at each job’s submission (energy included at both).'), totals),
    );
    refreshBoard();
    refreshSavings();
    stream(
      '/v1/stream/jobs',
      (_type, data) => {
        refreshBoard();
        if ((data as { status?: string }).status === 'completed') refreshSavings();
      },
      signal,
    );
  },
};
