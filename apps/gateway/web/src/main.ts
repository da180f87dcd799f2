import { ApiError, get, session, type Me } from './api.js';
import { h, replace } from './dom.js';
import { adminView } from './views/admin.js';
import { financeView } from './views/finance.js';
import { jobsView } from './views/jobs.js';
import { marketView } from './views/market.js';
import { providerView } from './views/provider.js';
import type { View } from './views/view.js';

const VIEWS: readonly View[] = [marketView, jobsView, providerView, financeView, adminView];

const app = document.getElementById('app') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let current: AbortController | undefined;

function signIn(problem?: string): void {
  current?.abort();
  replace(who);
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'key-help' });
  const error = h('p', { class: 'error', role: 'alert' }, problem ?? '');
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Spotgrid'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'key-help', class: 'muted' }, 'Your key (sgk_…) decides what you see: a customer its jobs and bills, a provider its offers and payouts, finance the books, an admin the whole market. It stays in this tab only.'),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    session.key = input.value.trim();
    void start();
  });
  replace(app, form);
  input.focus();
}

function tabs(me: Me, views: readonly View[], active: View): HTMLElement {
  const list = h('div', { role: 'tablist', 'aria-label': 'Views', class: 'tabs' });
  for (const v of views) {
    const tab = h('a', { role: 'tab', id: `tab-${v.id}`, href: `#${v.id}`, 'aria-selected': v === active ? 'true' : 'false', 'aria-controls': 'view', tabindex: v === active ? '0' : '-1' }, v.label);
    list.append(tab);
  }
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the view.
  list.addEventListener('keydown', (e) => {
    const i = views.indexOf(active);
    const next = e.key === 'ArrowRight' ? views[(i + 1) % views.length] : e.key === 'ArrowLeft' ? views[(i - 1 + views.length) % views.length] : undefined;
    if (next === undefined) return;
    e.preventDefault();
    location.hash = next.id;
  });
  const out = h('button', { type: 'button', class: 'link' }, 'Sign out');
  out.addEventListener('click', () => {
    window.onhashchange = null;
    session.key = null;
    history.replaceState(null, '', location.pathname);
    signIn();
  });
  replace(who, h('span', { class: 'role' }, me.role), ' ', h('strong', {}, me.name), ' ', out);
  return list;
}

function show(me: Me): void {
  const views = VIEWS.filter((v) => v.roles.includes(me.role));
  const active = views.find((v) => `#${v.id}` === location.hash) ?? (views[0] as View);
  current?.abort();
  current = new AbortController();
  const root = h('div', { id: 'view', role: 'tabpanel', 'aria-labelledby': `tab-${active.id}`, tabindex: '-1' });
  replace(app, tabs(me, views, active), root);
  active.mount(root, me, current.signal);
  document.title = `${active.label} · Spotgrid`;
  (document.getElementById(`tab-${active.id}`) as HTMLElement | null)?.focus({ preventScroll: true });
}

async function start(): Promise<void> {
  if (session.key === null || session.key === '') return signIn();
  try {
    const me = await get<Me>('/v1/me');
    window.onhashchange = () => show(me);
    show(me);
  } catch (error) {
    session.key = null;
    signIn(error instanceof ApiError && error.status === 401 ? 'That key is not a live API key.' : 'The gateway did not answer; try again.');
  }
}

void start();
