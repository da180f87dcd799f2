/**
 * bench:ledger — usage events on Kafka posted to the journal exactly once, with billing running as
 * its own process on the real stack.
 *
 *   1. throughput: N usage events (over A allocations) produced first, then drained by billing;
 *      events/s from the first posting to the last. Billing takes the allocations in first, as it
 *      does in service, where an allocation precedes its usage by minutes; it is then stopped while
 *      the backlog is produced. With both backlogs waiting at once, the usage consumer ran ahead of
 *      the allocations and parked about 40% of the events, which the allocation consumer then
 *      posted in one long transaction: that measured the race, not the posting;
 *   2. latency: events at a steady rate; publish → posted (the posting transaction's time);
 *   3. baseline, same run: a bare kafkajs consumer reading the same events (no validation, no
 *      database): the ceiling the broker and client allow on this machine.
 *
 * Budget (DESIGN.md 14): >= 20,000 usage events/s posted exactly once.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Topic, type Allocation, type UsageMetered } from '#contracts';
import { createIdempotentProducer, createKafka, ensureTopics } from '#messaging';
import { runMigrations } from '#migrations';
import { parseConfig } from '#platform';
import { cpuSeconds, fmt, freshDatabase, peakRssMiB, percentile, readStackCpu, stackCpuSince, startService, stopService, waitReady } from './support.js';

const N = Number(process.env['BENCH_EVENTS'] ?? 50_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 2_000);
const LATENCY_SECONDS = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 5);
const ALLOCATIONS = 200;
const CUSTOMERS = 50;
const BATCH = 1_000;
const PORT = 3921;

const run = `benchl${Date.now().toString(36)}`;
const databaseUrl = await freshDatabase('spotgrid_bench_ledger');
const env = { DATABASE_URL: databaseUrl, KAFKA_CLIENT_ID: run, QUEUE_PREFIX: run, BILLING_PORT: String(PORT), NODE_ENV: 'test' };
const config = parseConfig({ ...process.env, ...env });
await runMigrations(config);
const kafka = createKafka(config, 'bench', pino({ level: 'silent' }));
await ensureTopics(kafka, config);
const admin = kafka.admin();
await admin.connect();
for (const topic of [Topic.Allocations, Topic.UsageMetered, Topic.JobEvents]) {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: `${run}.billing`, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
}
const usageEnds = await admin.fetchTopicOffsets(Topic.UsageMetered);
await admin.setOffsets({ groupId: `${run}.baseline`, topic: Topic.UsageMetered, partitions: usageEnds.map((o) => ({ partition: o.partition, offset: o.high })) });
const usageStart = new Map(usageEnds.map((o) => [o.partition, Number(o.high)]));

const { default: pgm } = await import('pg');
const db = new pgm.Client({ connectionString: databaseUrl });
await db.connect();
const producer = createIdempotentProducer(kafka);
await producer.connect();

const allocations: Allocation[] = Array.from({ length: ALLOCATIONS }, (_, i) => {
  const jobId = randomUUID();
  return {
    allocationId: `${jobId}.1`,
    jobId,
    customerId: `bench-c${i % CUSTOMERS}`,
    providerId: `bench-p${i % 7}`,
    offerId: 'o1',
    instrument: 'gpu:bench',
    region: 'r1',
    gridZone: 'z1',
    quantity: '1000',
    computeNanoUsd: '2000000000',
    energyNanoUsd: '150000000',
    effectiveNanoUsd: '2150000000',
    amountNanoUsd: '2150000000000',
    feeNanoUsd: '43000000000',
    matchedAt: new Date().toISOString(),
  };
});
let made = 0;
function nextUsage(): { key: string; value: Buffer; usageId: string } {
  const a = allocations[made % ALLOCATIONS] as Allocation;
  made += 1;
  const u: UsageMetered = {
    usageId: `${run}-${made}`,
    allocationId: a.allocationId,
    jobId: a.jobId,
    customerId: a.customerId,
    providerId: a.providerId,
    instrument: a.instrument,
    inputTokens: null,
    outputTokens: null,
    gpuSeconds: String(30 + (made % 600)),
    energyKwh: null,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    endedAt: new Date().toISOString(),
  };
  return { key: u.customerId, value: Buffer.from(JSON.stringify(u)), usageId: u.usageId };
}
/** Usage events in the sub-ledger: exact, but it counts a growing table, so it confirms; it does not poll. */
const postedCount = async (): Promise<number> => {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM billing.usage_postings`);
  return rows[0]?.n ?? 0;
};
// Progress is watched on billing's committed offsets, which move once a batch's postings have
// committed: a count of the journal, polled every 50 ms, scanned the growing table each time
// (1.3–1.8 s of PostgreSQL time per run) and competed with the postings it timed. No event is
// rejected here, so each committed offset is a posted event; the exact count confirms each end.
const committed = async (): Promise<number> => {
  const [topic] = await admin.fetchOffsets({ groupId: `${run}.billing`, topics: [Topic.UsageMetered] });
  return (topic?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset) - (usageStart.get(p.partition) ?? 0)), 0);
};
/** Waits until `target` usage events are posted, polling the committed offsets, then the count. */
async function postedAtLeast(target: number, pollMs: number, until = Number.POSITIVE_INFINITY): Promise<void> {
  while ((await committed()) < target && Date.now() < until) await new Promise((r) => setTimeout(r, pollMs));
  while ((await postedCount()) < target && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

// ---- 1. throughput: allocations, then the usage backlog, then billing drains it --------------
await producer.send({ topic: Topic.Allocations, acks: -1, messages: allocations.map((a) => ({ key: a.jobId, value: JSON.stringify(a) })) });
const first = startService('billing', env);
await waitReady(`http://127.0.0.1:${PORT}`);
for (;;) {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM billing.allocations`);
  if ((rows[0]?.n ?? 0) >= ALLOCATIONS) break;
  await new Promise((r) => setTimeout(r, 50));
}
await stopService(first);
for (let produced = 0; produced < N; ) {
  const records = [];
  for (let j = 0; j < BATCH && produced < N; j += 1, produced += 1) records.push(nextUsage());
  await producer.send({ topic: Topic.UsageMetered, acks: -1, messages: records.map(({ key, value }) => ({ key, value })) });
}
const service = startService('billing', env);
await waitReady(`http://127.0.0.1:${PORT}`);
// From the first committed batch: a cold first batch does not weigh on the rate.
let atT0 = await committed();
while (atT0 === 0) {
  await new Promise((r) => setTimeout(r, 5));
  atT0 = await committed();
}
const t0 = performance.now();
const serviceCpuAtT0 = cpuSeconds(service.pid ?? 0);
const stackAtT0 = readStackCpu();
await postedAtLeast(N, 50);
const throughput = (N - atT0) / ((performance.now() - t0) / 1_000);
// Where an event's CPU goes while draining: billing itself and each shared process.
const µsPerEvent = (seconds: number) => fmt((seconds * 1e6) / (N - atT0), 1);
const drainCpu = [`billing ${µsPerEvent(cpuSeconds(service.pid ?? 0) - serviceCpuAtT0)}`, ...stackCpuSince(stackAtT0).map(({ name, seconds }) => `${name} ${µsPerEvent(seconds)}`)];

// ---- 2. latency at a steady rate -------------------------------------------------------------
const sentAt = new Map<string, number>();
const total = RATE * LATENCY_SECONDS;
const l0 = Date.now();
for (let sent = 0; sent < total; ) {
  const due = Math.min(total, Math.floor(((Date.now() - l0) / 1_000) * RATE) + 1);
  const records = [];
  for (; sent < due; sent += 1) {
    const r = nextUsage();
    sentAt.set(r.usageId, Date.now());
    records.push({ key: r.key, value: r.value });
  }
  if (records.length > 0) await producer.send({ topic: Topic.UsageMetered, acks: -1, messages: records });
  await new Promise((r) => setTimeout(r, 10));
}
await postedAtLeast(N + total, 100, Date.now() + 60_000);
const { rows: postedRows } = await db.query<{ usage_id: string; posted_at: Date }>(
  `SELECT u.usage_id, t.posted_at FROM billing.usage_postings u JOIN billing.transactions t USING (tx_id) WHERE u.usage_id = ANY($1)`,
  [[...sentAt.keys()]],
);
const latencies = postedRows.map((r) => r.posted_at.getTime() - (sentAt.get(r.usage_id) ?? 0)).sort((a, b) => a - b);
// Exactly once: every event sent is in the sub-ledger once (its primary key), in a usage
// transaction whose lines are the sum of its events; the journal sums to zero.
const { rows: onceRows } = await db.query<{ events: number; transactions: number; detail: string; journal: string; sum: string }>(
  `SELECT (SELECT count(*)::int FROM billing.usage_postings) AS events,
          (SELECT count(*)::int FROM billing.transactions WHERE kind = 'usage') AS transactions,
          (SELECT coalesce(sum(compute_nano_usd + energy_nano_usd + fee_nano_usd), 0)::text FROM billing.usage_postings) AS detail,
          (SELECT coalesce(sum(amount), 0)::text FROM billing.entries WHERE account_id LIKE 'customer:%') AS journal,
          (SELECT coalesce(sum(amount), 0)::text FROM billing.entries) AS sum`,
);
const once = onceRows[0];
const rss = peakRssMiB(service.pid ?? 0);
await stopService(service);

// ---- 3. baseline: a bare consumer over the same events ----------------------------------------
const baseline = kafka.consumer({ groupId: `${run}.baseline` });
await baseline.connect();
await baseline.subscribe({ topic: Topic.UsageMetered });
let read = 0;
let b0 = 0;
const all = N + total;
const done = new Promise<void>((resolve) => {
  void baseline.run({
    eachBatch: async ({ batch }) => {
      if (b0 === 0) b0 = performance.now();
      read += batch.messages.length;
      if (read >= all) resolve();
    },
  });
});
await done;
const baseRate = all / ((performance.now() - b0) / 1_000);
await baseline.disconnect();
await admin.disconnect();
await producer.disconnect();
await db.end();

console.log(`
bench:ledger — usage events on Kafka → journal postings, exactly once (billing as its own process)
  throughput: ${N} events drained at ${fmt(throughput, 0)} events/s (budget 20,000: ${fmt(throughput / 20_000, 2)}×)
                CPU µs per event while draining: ${drainCpu.join(', ')} (two cores at 20,000 events/s: 100 in all)
  latency at ${RATE}/s for ${LATENCY_SECONDS} s: p50 ${fmt(percentile(latencies, 50), 0)} ms, p99 ${fmt(percentile(latencies, 99), 0)} ms (${latencies.length}/${total} posted)
  exactly once: ${once?.events} events posted of ${N + total} sent, in ${once?.transactions} journal transactions; events charged ${once?.detail}, journal ${once?.journal} (must be equal); journal sum ${once?.sum} (must be 0)
  baseline (bare kafkajs consumer, same events): ${fmt(baseRate, 0)} msgs/s; ratio ${fmt(throughput / baseRate, 3)}
  billing peak RSS: ${fmt(rss, 0)} MiB
`);
process.exit(0);
