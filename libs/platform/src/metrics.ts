import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry and the metrics the shared plumbing reports. App-specific
 * metrics register on the same registry, so /metrics shows everything a service does.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Messages per chunk and per transaction share their buckets, so the two can be read side by side. */
const MESSAGE_COUNT_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2000, 5000];

export const metrics = {
  consumedMessages: new Counter({
    name: 'spotgrid_consumed_messages_total',
    help: 'Kafka messages consumed and committed, per topic',
    labelNames: ['topic'] as const,
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'spotgrid_dead_lettered_total',
    help: 'Messages sent to a DLQ, per source topic and reason',
    labelNames: ['topic', 'reason'] as const,
    registers: [registry],
  }),
  consumerRetries: new Counter({
    name: 'spotgrid_consumer_retries_total',
    help: 'Retries of a consumed chunk, per topic and kind (transient failure or handler failure)',
    labelNames: ['topic', 'kind'] as const,
    registers: [registry],
  }),
  consumerChunkSeconds: new Histogram({
    name: 'spotgrid_consumer_chunk_seconds',
    help: 'Time per consumed chunk, by topic and phase (decode; transaction, waiting for the one it shares included; offset commit)',
    labelNames: ['topic', 'phase'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  }),
  consumerChunkSize: new Histogram({
    name: 'spotgrid_consumer_chunk_messages',
    help: 'Messages per consumed chunk, by topic',
    labelNames: ['topic'] as const,
    buckets: MESSAGE_COUNT_BUCKETS,
    registers: [registry],
  }),
  consumerTransactionSize: new Histogram({
    name: 'spotgrid_consumer_transaction_messages',
    help: 'Messages per consumer transaction (chunks of several partitions may share one), by topic',
    labelNames: ['topic'] as const,
    buckets: MESSAGE_COUNT_BUCKETS,
    registers: [registry],
  }),
  consumerDelaySeconds: new Histogram({
    name: 'spotgrid_consumer_delay_seconds',
    help: 'Time from a message being produced (its Kafka timestamp) to its chunk being committed, by topic',
    labelNames: ['topic'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  outboxDelaySeconds: new Histogram({
    name: 'spotgrid_outbox_delay_seconds',
    help: 'Time from an outbox row being written to the broker acknowledging it',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  outboxPublished: new Counter({
    name: 'spotgrid_outbox_published_total',
    help: 'Outbox rows published to Kafka',
    registers: [registry],
  }),
  httpRequestSeconds: new Histogram({
    name: 'spotgrid_http_request_seconds',
    help: 'HTTP request latency by route and status class',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
};
