/**
 * bench:dispatch — allocations on Kafka run on providers through the dispatcher (its own process,
 * the real stack), every answer stored and metered on `usage.metered.v1`.
 *
 *   1. throughput: N allocations (R requests each, over P simulated providers answering at once)
 *      produced first, then drained; allocations/s and requests/s from the first run to the last;
 *   2. metering: from each answer to its result and usage event committed (the dispatcher's
 *      histogram), i.e. what metering adds to a request;
 *   3. baseline, same run: the simulated adapter alone, answering the same requests in this process
 *      (no queue, no database, no Kafka): the ceiling without dispatch around it.
 *
 * Jobs are written to the gateway's table directly (the dispatcher reads their work from it);
 * matching's `matched` steps are published so every job also ends `completed`.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Topic, type Allocation, type JobEvent } from '#contracts';
import { createIdempotentProducer, createKafka, encodeMessage, ensureTopics } from '#messaging';
import { runMigrations } from '#migrations';
import { parseConfig } from '#platform';
import { SimulatedAdapter } from '../apps/dispatcher/src/providers/simulated.adapter.js';
import { fmt, freshDatabase, peakRssMiB, startService, stopService, waitReady } from './support.js';

const N = Number(process.env['BENCH_ALLOCATIONS'] ?? 2_000);
const R = Number(process.env['BENCH_REQUESTS'] ?? 10);
const P = Number(process.env['BENCH_PROVIDERS'] ?? 8);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const PORT = 3923;

const run = `benchd${Date.now().toString(36)}`;
const databaseUrl = await freshDatabase('spotgrid_bench_dispatch');
const providers = Array.from({ length: P }, (_, i) => `bench-p${i}`);
const env = {
  DATABASE_URL: databaseUrl,
  KAFKA_CLIENT_ID: run,
  QUEUE_PREFIX: run,
  DISPATCHER_PORT: String(PORT),
  NODE_ENV: 'test',
  DATABASE_POOL_SIZE: process.env['BENCH_POOL_SIZE'] ?? '10',
  DISPATCH_PROVIDERS: JSON.stringify({ '*': { adapter: 'simulated', latencyMs: 0, concurrency: CONCURRENCY, requestConcurrency: 8 } }),
};
const config = parseConfig({ ...process.env, ...env });
await runMigrations(config);
const kafka = createKafka(config, 'bench', pino({ level: 'silent' }));
await ensureTopics(kafka, config);
const admin = kafka.admin();
await admin.connect();
for (const topic of [Topic.Allocations, Topic.JobEvents]) {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: `${run}.dispatcher`, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
}
await admin.disconnect();

const { default: pgm } = await import('pg');
const db = new pgm.Client({ connectionString: databaseUrl });
await db.connect();

// ---- the jobs, as the gateway would have stored them ----------------------------------------------
const instrument = 'model:bench-llm';
const jobs = Array.from({ length: N }, (_, i) => ({ jobId: randomUUID(), customerId: `bench-c${i % 50}`, providerId: providers[i % P] as string }));
const work = (jobId: string) => ({
  type: 'requests',
  requests: Array.from({ length: R }, (_, k) => ({
    custom_id: `${jobId.slice(0, 8)}-${k}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'bench-llm', messages: [{ role: 'user', content: `question ${k}` }], max_tokens: 64 },
  })),
});
const now = new Date();
for (let i = 0; i < jobs.length; i += 500) {
  const slice = jobs.slice(i, i + 500);
  await db.query(
    `INSERT INTO gateway.jobs (job_id, customer_id, idempotency_key, request_hash, instrument, quantity, limit_nano_usd, allow_split, constraints,
            earliest_start, deadline, latest_start, runtime_seconds, may_defer, work, forecast, hold_nano_usd, status)
     SELECT x.job_id, x.customer_id, x.job_id::text, 'bench', $2, 1, 5000000000, true, '{}', $3, $3::timestamptz + interval '1 hour',
            $3::timestamptz + interval '50 minutes', 600, false, x.work, '[]', 5100000000, 'matched'
       FROM json_to_recordset($1::json) AS x(job_id uuid, customer_id text, work jsonb)`,
    [JSON.stringify(slice.map((j) => ({ job_id: j.jobId, customer_id: j.customerId, work: work(j.jobId) }))), instrument, now.toISOString()],
  );
}

const producer = createIdempotentProducer(kafka);
await producer.connect();
const allocations = jobs.map(
  (j): Allocation => ({
    allocationId: `${j.jobId}.1`,
    jobId: j.jobId,
    customerId: j.customerId,
    providerId: j.providerId,
    offerId: 'o1',
    instrument,
    region: 'r1',
    gridZone: 'z1',
    quantity: '1',
    computeNanoUsd: '2000000000',
    energyNanoUsd: '0',
    effectiveNanoUsd: '2000000000',
    amountNanoUsd: '2000000000',
    feeNanoUsd: '40000000',
    matchedAt: now.toISOString(),
  }),
);
const steps = jobs.map(
  (j): JobEvent => ({
    eventId: `${j.jobId}.2`,
    jobId: j.jobId,
    customerId: j.customerId,
    type: 'matched',
    status: 'matched',
    reason: null,
    quantity: '1',
    filledQuantity: '1',
    allocationIds: [`${j.jobId}.1`],
    until: null,
    at: now.toISOString(),
  }),
);
for (let i = 0; i < N; i += 1_000) {
  const messages = [
    ...allocations.slice(i, i + 1_000).map((a) => encodeMessage(Topic.Allocations, a)),
    ...steps.slice(i, i + 1_000).map((s) => encodeMessage(Topic.JobEvents, s)),
  ];
  await producer.sendBatch({
    acks: -1,
    topicMessages: [Topic.Allocations, Topic.JobEvents].map((topic) => ({
      topic,
      messages: messages.filter((m) => m.topic === topic).map((m) => ({ key: m.key, value: m.value })),
    })),
  });
}
await producer.disconnect();

// ---- 1. throughput -----------------------------------------------------------------------------
const service = startService('dispatcher', env);
await waitReady(`http://127.0.0.1:${PORT}`);
const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
let t0 = 0;
let atT0 = 0;
for (;;) {
  const n = await count(`SELECT count(*) AS n FROM dispatch.allocations WHERE status = 'completed'`);
  if (t0 === 0 && (n > 0 || (await count(`SELECT count(*) AS n FROM dispatch.allocations WHERE status = 'running'`)) > 0)) {
    t0 = performance.now();
    atT0 = n;
  }
  if (n >= N) break;
  await new Promise((r) => setTimeout(r, 50));
}
const seconds = (performance.now() - t0) / 1_000;
const allocationRate = (N - atT0) / seconds;
for (const until = Date.now() + 30_000; Date.now() < until; ) {
  if ((await count(`SELECT count(*) AS n FROM dispatch.jobs WHERE status = 'completed'`)) >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
const results = await count(`SELECT count(*) AS n FROM dispatch.results`);
const completedJobs = await count(`SELECT count(*) AS n FROM dispatch.jobs WHERE status = 'completed'`);
for (const until = Date.now() + 30_000; Date.now() < until; ) {
  if ((await count(`SELECT count(*) AS n FROM dispatch.outbox`)) === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
const unpublished = await count(`SELECT count(*) AS n FROM dispatch.outbox`);

// ---- 2. metering, from the dispatcher's own histograms --------------------------------------------
const metrics = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
const histogram = (name: string) => {
  const buckets = [...metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => ({ le: Number(m[1]), n: Number(m[2]) }));
  const sum = Number(new RegExp(`^${name}_sum (\\S+)`, 'm').exec(metrics)?.[1]);
  const total = Number(new RegExp(`^${name}_count (\\S+)`, 'm').exec(metrics)?.[1]);
  const quantile = (q: number) => buckets.find((b) => b.n >= q * total)?.le ?? Number.NaN;
  return { mean: (sum / total) * 1_000, p50: quantile(0.5) * 1_000, p99: quantile(0.99) * 1_000, total };
};
const metering = histogram('spotgrid_dispatch_metering_seconds');
const request = histogram('spotgrid_dispatch_request_seconds');
const rss = peakRssMiB(service.pid ?? 0);
await stopService(service);

// ---- 3. baseline: the adapter alone, same requests ----------------------------------------------
const adapter = new SimulatedAdapter({
  adapter: 'simulated',
  concurrency: 1,
  requestConcurrency: 1,
  requestsPerSecond: 0,
  allocationsPerSecond: 0,
  latencyMs: 0,
  jitterMs: 0,
  failureRate: 0,
  preemptionRate: 0,
  secondsPerGpuHour: 0,
  energyKwhPerGpuHour: '0.7',
  seed: 'spotgrid',
});
const signal = new AbortController().signal;
const b0 = performance.now();
for (const j of jobs) {
  const w = work(j.jobId);
  await Promise.all(
    w.requests.map((r, k) =>
      adapter.runRequest({ allocationId: `${j.jobId}.1`, providerId: j.providerId, ordinal: k, total: R }, { index: k, customId: r.custom_id, url: r.url, body: r.body }, signal),
    ),
  );
}
const baseRate = (N * R) / ((performance.now() - b0) / 1_000);
await db.end();

const requestRate = allocationRate * R;
console.log(`
bench:dispatch — allocations on Kafka → requests on ${P} simulated providers → results and usage metered (dispatcher as its own process)
  throughput: ${N} allocations × ${R} requests in ${fmt(seconds, 1)} s: ${fmt(allocationRate, 0)} allocations/s, ${fmt(requestRate, 0)} requests/s
  outcome: ${results}/${N * R} results stored, ${completedJobs}/${N} jobs completed, ${unpublished} usage/outbox rows left unpublished
  metering per request (answer → result and usage event committed): mean ${fmt(metering.mean, 2)} ms, p50 ≤ ${fmt(metering.p50, 1)} ms, p99 ≤ ${fmt(metering.p99, 1)} ms
  request on the provider (adapter time, retries included): mean ${fmt(request.mean, 2)} ms
  baseline (the simulated adapter alone, same requests, this process): ${fmt(baseRate, 0)} requests/s; ratio ${fmt(requestRate / baseRate, 3)}
  dispatcher peak RSS: ${fmt(rss, 0)} MiB
`);
process.exit(0);
