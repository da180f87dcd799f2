import { Counter } from 'prom-client';
import { registry } from '#platform';

export const marketMetrics = {
  ticksApplied: new Counter({ name: 'spotgrid_market_ticks_applied_total', help: 'Spot-price ticks applied', registers: [registry] }),
  ticksIgnored: new Counter({
    name: 'spotgrid_market_ticks_ignored_total',
    help: 'Ticks and tariff publications ignored, by reason (stale or duplicate sequence number)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  quotesPublished: new Counter({ name: 'spotgrid_market_quotes_published_total', help: 'Quotes published after a change', registers: [registry] }),
  unpriceable: new Counter({
    name: 'spotgrid_market_unpriceable_total',
    help: 'Offers that could not be priced, by what was missing',
    labelNames: ['missing'] as const,
    registers: [registry],
  }),
};
