import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '#platform';

export const matchingMetrics = {
  bookDepth: new Gauge({
    name: 'spotgrid_matching_book_depth',
    help: 'Resting orders per instrument and side (ask: offers with capacity; bid: open jobs)',
    labelNames: ['instrument', 'side'] as const,
    registers: [registry],
  }),
  matchLatency: new Histogram({
    name: 'spotgrid_matching_submit_to_match_seconds',
    help: 'From a job submitted at the gateway to its full match, for jobs matched on arrival',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 60, 3600],
    registers: [registry],
  }),
  stepSeconds: new Histogram({
    name: 'spotgrid_matching_step_seconds',
    help: 'One matching step: commands applied to the book and written in one transaction',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  stepCommands: new Histogram({
    name: 'spotgrid_matching_step_commands',
    help: 'Commands (jobs, cancels, quote batches) per matching step',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  }),
  allocations: new Counter({ name: 'spotgrid_matching_allocations_total', help: 'Allocations made', registers: [registry] }),
  rebuilds: new Counter({ name: 'spotgrid_matching_rebuilds_total', help: 'Times the book was rebuilt from PostgreSQL', registers: [registry] }),
};
