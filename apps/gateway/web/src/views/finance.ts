import { get, stream } from '../api.js';
import { badge, h, panel, replace, table, throttle } from '../dom.js';
import { dateTime, nanoUsd } from '../format.js';
import { savingsTable, type SavingsTotals } from './jobs.js';
import type { View } from './view.js';

interface Balance {
  account: string;
  kind: string;
  balanceNanoUsd: string;
  creditLimitNanoUsd: string;
  heldNanoUsd: string;
}
interface Invoice {
  invoiceId: string;
  customerId: string;
  period: string;
  status: string;
  total: string;
  finalizedAt: string | null;
}
interface Reconciliation {
  ok: boolean;
  allocations: { matched: number; billed: number; missingInBilling: number };
  usage: { events: number; transactions: number; transactionsNotMatchingEvents: number };
  journal: { sumNanoUsd: string; unbalancedTransactions: number };
  holds: { open: number; settled: number; voided: number; expired: number };
}

/** Finance: is everything reconciled, who holds what, what was invoiced, and what the market saved customers. */
export const financeView: View = {
  id: 'finance',
  label: 'Finance',
  roles: ['finance', 'admin'],
  mount(root, _me, signal) {
    const status = h('div', { id: 'reconciliation', 'aria-live': 'polite' });
    const balances = h('div', { id: 'balances' });
    const invoices = h('div', { id: 'invoices' });
    const savings = h('div', { id: 'savings-by-customer' });
    replace(
      root,
      panel('recon', 'Reconciliation', status),
      h('div', { class: 'grid' }, panel('balances-panel', 'Balances', balances), panel('invoices-panel', 'Invoices', invoices)),
      panel('savings-panel', 'What the market saved each customer', savings),
    );
    const load = async () => {
      const [r, b, i, s] = await Promise.all([
        get<Reconciliation>('/v1/finance/reconciliation'),
        get<{ items: Balance[] }>('/v1/finance/balances'),
        get<{ items: Invoice[] }>('/v1/finance/invoices?limit=50'),
        get<{ totals: SavingsTotals[] }>('/v1/savings?jobs=0'),
      ]);
      replace(
        status,
        h(
          'p',
          { class: 'figure' },
          r.ok ? badge('reconciled', 'ok') : badge('needs attention', 'bad'),
          ` ${r.allocations.matched} allocations matched, ${r.allocations.billed} billed, ${r.allocations.missingInBilling} missing; ${r.usage.events} usage events posted in ${r.usage.transactions} journal transactions, ${r.usage.transactionsNotMatchingEvents} not matching their events; journal sums to ${nanoUsd(r.journal.sumNanoUsd)} with ${r.journal.unbalancedTransactions} unbalanced transactions; holds: ${r.holds.open} open, ${r.holds.settled} settled, ${r.holds.voided} voided, ${r.holds.expired} expired.`,
        ),
      );
      replace(
        balances,
        table(
          'Accounts',
          [
            { label: 'Account', cell: (x: Balance) => x.account },
            { label: 'Balance', numeric: true, cell: (x) => nanoUsd(x.balanceNanoUsd) },
            { label: 'Held', numeric: true, cell: (x) => nanoUsd(x.heldNanoUsd) },
            { label: 'Credit limit', numeric: true, cell: (x) => nanoUsd(x.creditLimitNanoUsd) },
          ],
          b.items.slice(0, 100),
          (x) => x.account,
        ),
      );
      replace(
        invoices,
        table(
          'Invoices',
          [
            { label: 'Invoice', cell: (x: Invoice) => x.invoiceId },
            { label: 'Status', cell: (x) => badge(x.status, x.status === 'final' ? 'ok' : 'warn') },
            { label: 'Total', numeric: true, cell: (x) => `$${x.total}` },
            { label: 'Closed', cell: (x) => (x.finalizedAt === null ? '—' : dateTime(x.finalizedAt)) },
          ],
          i.items,
          (x) => x.invoiceId,
        ),
      );
      replace(savings, savingsTable('Per customer', s.totals));
    };
    // Reconciliation counts whole tables: at most every ten seconds, however busy the market.
    const refresh = throttle(() => void load().catch(() => undefined), 10_000);
    refresh();
    // Every job step may move money: the job stream is the finance view's pulse.
    stream('/v1/stream/jobs', () => refresh(), signal);
  },
};
