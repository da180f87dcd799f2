import { Counter, Histogram } from 'prom-client';
import { registry } from '#platform';

export const dispatchMetrics = {
  allocationsEnded: new Counter({
    name: 'spotgrid_dispatch_allocations_ended_total',
    help: 'Allocations run to their end, by how they ended (completed, preempted, failed)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  requests: new Counter({
    name: 'spotgrid_dispatch_requests_total',
    help: 'Requests sent to providers, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  requestSeconds: new Histogram({
    name: 'spotgrid_dispatch_request_seconds',
    help: 'One request on its provider, retries included',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 120],
    registers: [registry],
  }),
  meteringSeconds: new Histogram({
    name: 'spotgrid_dispatch_metering_seconds',
    help: 'From a request answered to its result and usage event committed (what metering adds to each request)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  allocationSeconds: new Histogram({
    name: 'spotgrid_dispatch_allocation_seconds',
    help: 'From an allocation taken off its queue to its end recorded',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600],
    registers: [registry],
  }),
};
