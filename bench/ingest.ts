/**
 * bench:ingest — price ticks from Kafka through validation, signature check, storage and quote
 * update, on the real stack, with market-data running as its own process.
 *
 *   1. throughput: N signed ticks produced as fast as the producer goes; ticks/s from the first
 *      send to the last tick applied (the consumer's drain rate, backlog included);
 *   2. latency: ticks at a steady rate; publish → quote on market.quotes.v1, p50/p99;
 *   3. baseline, same run: a bare kafkajs consumer reading the same ticks (no validation, no
 *      database): the ceiling the broker and client allow on this machine.
 *
 * Budget (DESIGN.md 14): >= 50,000 ticks/s sustained, p99 <= 50 ms.
 */
import { pino } from 'pino';
import { feedSecretOf, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, Topic, type Quote, type SpotPriceTick } from '#contracts';
import { createIdempotentProducer, createKafka, ensureTopics } from '#messaging';
import { parseConfig } from '#platform';
import { runMigrations } from '#migrations';
import { benchTick, cpuSeconds, fmt, freshDatabase, peakRssMiB, percentile, readStackCpu, stackCpuSince, startService, stopService, waitReady, type StackCpuReading } from './support.js';

const N = Number(process.env['BENCH_TICKS'] ?? 200_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 20_000);
const LATENCY_SECONDS = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 10);
const PROVIDERS = 10;
const OFFERS_PER_PROVIDER = 200;
const BATCH = 1_000;
const PORT = 3901;
/**
 * market-data processes sharing the consumer group. One by default. Node runs a service's code on
 * one thread, so a machine's cores are used by running more instances (the topic has 6 partitions).
 */
const INSTANCES = Number(process.env['BENCH_INSTANCES'] ?? 1);

const run = `bench${Date.now().toString(36)}`;
const databaseUrl = await freshDatabase('spotgrid_bench');
const env = { DATABASE_URL: databaseUrl, KAFKA_CLIENT_ID: run, NODE_ENV: 'test' };
const config = parseConfig({ ...process.env, ...env });
await runMigrations(config);
const silent = pino({ level: 'silent' });
const kafka = createKafka(config, 'bench', silent);
await ensureTopics(kafka, config);

// Feed keys, one per provider.
const { default: pgm } = await import('pg');
const db = new pgm.Client({ connectionString: databaseUrl });
await db.connect();
const keys = Array.from({ length: PROVIDERS }, (_, p) => ({ provider: `bench-p${p}`, keyId: `fk_bench_${p}`, secret: feedSecretOf(config.FEED_SECRETS_KEY, `fk_bench_${p}`) }));
for (const k of keys) await db.query('INSERT INTO gateway.feed_keys (key_id, provider_id) VALUES ($1, $2)', [k.keyId, k.provider]);

// Start the new consumer groups at the end of the topics: the bench measures its own ticks only.
const admin = kafka.admin();
await admin.connect();
async function startAtEnd(groupId: string, topic: string): Promise<void> {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
}
for (const topic of [Topic.SpotPrices, Topic.EnergyTariffs, Topic.FxRates]) await startAtEnd(`${run}.market-data`, topic);
await startAtEnd(`${run}.baseline`, Topic.SpotPrices);

const producer = createIdempotentProducer(kafka);
await producer.connect();
const seq = new Map<string, number>();
const base = Date.now();
function nextTick(i: number): { tick: SpotPriceTick; record: { key: string; value: Buffer; headers: Record<string, string> } } {
  const k = keys[i % PROVIDERS]!;
  const offer = Math.floor(i / PROVIDERS) % OFFERS_PER_PROVIDER;
  const id = `${k.provider}/o${offer}`;
  const s = (seq.get(id) ?? 0) + 1;
  seq.set(id, s);
  const tick = benchTick(k.provider, offer, s, i, base, new Date().toISOString());
  const value = Buffer.from(JSON.stringify(tick));
  return { tick, record: { key: `${tick.providerId}:${tick.offerId}`, value, headers: { [KEY_ID_HEADER]: k.keyId, [SIGNATURE_HEADER]: signFeed(value, k.secret) } } };
}

async function appliedSeqSum(): Promise<number> {
  const { rows } = await db.query<{ s: string | null }>('SELECT sum(last_seq) AS s FROM market.offers');
  return Number(rows[0]?.s ?? 0);
}

// ---- 1. throughput --------------------------------------------------------------------------
// The backlog is produced first, with market-data stopped: on this 2-core machine a producer
// running alongside would take CPU that providers' own machines spend in production.
let produced = 0;
const p0 = performance.now();
while (produced < N) {
  const records = [];
  for (let j = 0; j < BATCH && produced < N; j += 1, produced += 1) records.push(nextTick(produced).record);
  await producer.send({ topic: Topic.SpotPrices, acks: -1, messages: records });
}
const produceSeconds = (performance.now() - p0) / 1_000;
const expectedSum = [...seq.values()].reduce((a, b) => a + b, 0);
const services = Array.from({ length: INSTANCES }, (_, n) => startService('market-data', { ...env, MARKET_DATA_PORT: String(PORT + n) }));
await Promise.all(services.map((_, n) => waitReady(`http://127.0.0.1:${PORT + n}`)));
const servicesCpu = () => services.reduce((sum, s) => sum + cpuSeconds(s.pid ?? 0), 0);
/** With several instances, the drain is timed once the group has settled on all of them (a rebalance is not the rate). */
async function groupSettled(): Promise<boolean> {
  if (INSTANCES === 1) return true;
  const { groups } = await admin.describeGroups([`${run}.market-data`]);
  return groups[0]?.state === 'Stable' && groups[0].members.length === INSTANCES;
}
// From the first tick applied to the last: the consumer's sustained rate, start-up excluded.
let t0 = 0;
let appliedAtT0 = 0;
// What the drain costs each part, per tick: at 50,000 ticks/s two cores leave 40 µs for all of them.
let serviceCpuAtT0 = 0;
let stackAtT0: StackCpuReading[] = [];
for (;;) {
  const sum = await appliedSeqSum();
  if (sum > 0 && t0 === 0 && (await groupSettled())) {
    t0 = performance.now();
    serviceCpuAtT0 = servicesCpu();
    stackAtT0 = readStackCpu();
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM market.spot_price_ticks');
    appliedAtT0 = Number(rows[0]?.n ?? 0);
  }
  if (sum >= expectedSum) break;
  await new Promise((r) => setTimeout(r, 20));
}
const tApplied = performance.now();
const throughput = (N - appliedAtT0) / ((tApplied - t0) / 1_000);
const µsPerTick = (seconds: number) => fmt((seconds * 1e6) / (N - appliedAtT0), 1);
const drainCpu = [`market-data ${µsPerTick(servicesCpu() - serviceCpuAtT0)}`, ...stackCpuSince(stackAtT0).map(({ name, seconds }) => `${name} ${µsPerTick(seconds)}`)];

// ---- 2. latency at a steady rate ------------------------------------------------------------
// The quotes probe joins only now, at the end of the quotes topic: during the drain it would
// decode every quote on one of the two cores that market-data and PostgreSQL share (a third
// of a core, measured), which no consumer of the drain's quotes does on this machine.
// Quotes, as they come out: arrival time per (offer, tick seq).
await startAtEnd(`${run}.quotes-probe`, Topic.Quotes);
const quoteSeen = new Map<string, number>();
const quotesConsumer = kafka.consumer({ groupId: `${run}.quotes-probe` });
await quotesConsumer.connect();
await quotesConsumer.subscribe({ topic: Topic.Quotes });
const probeJoined = new Promise<void>((resolve) => quotesConsumer.on(quotesConsumer.events.GROUP_JOIN, () => resolve()));
await quotesConsumer.run({
  eachBatch: async ({ batch }) => {
    const now = performance.now();
    for (const m of batch.messages) {
      const q = JSON.parse(m.value?.toString() ?? '{}') as Quote;
      quoteSeen.set(`${q.providerId}/${q.offerId}/${q.sources.tickSeq}`, now);
    }
  },
});
await probeJoined;
const sent = new Map<string, number>();
const perTick = 1_000 / RATE;
const latencyStart = performance.now();
// What a tick costs each part at this rate, where a transaction holds a few ticks, not thousands.
const steadyServiceCpu0 = servicesCpu();
const steadyStack0 = readStackCpu();
let i = produced;
const total = RATE * LATENCY_SECONDS;
for (let n = 0; n < total; ) {
  const due = latencyStart + n * perTick;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const records = [];
  const stamp = performance.now();
  // Send what is due now, in one request (at most 5 ms worth of ticks).
  const dueNow = Math.max(1, Math.min(Math.ceil((performance.now() - due) / perTick) + 1, Math.ceil(5 / perTick), total - n));
  for (let j = 0; j < dueNow; j += 1, i += 1, n += 1) {
    const { tick, record } = nextTick(i);
    records.push(record);
    sent.set(`${tick.providerId}/${tick.offerId}/${tick.seq}`, stamp);
  }
  await producer.send({ topic: Topic.SpotPrices, acks: -1, messages: records });
}
const latencyEnd = performance.now();
const finalSum = [...seq.values()].reduce((a, b) => a + b, 0);
while ((await appliedSeqSum()) < finalSum) await new Promise((r) => setTimeout(r, 100));
const µsPerSteadyTick = (seconds: number) => fmt((seconds * 1e6) / total, 1);
const steadyCpu = [`market-data ${µsPerSteadyTick(servicesCpu() - steadyServiceCpu0)}`, ...stackCpuSince(steadyStack0).map(({ name, seconds }) => `${name} ${µsPerSteadyTick(seconds)}`)];
await new Promise((r) => setTimeout(r, 1_000)); // the last quotes' way out through the relay
const latencies: number[] = [];
for (const [id, at] of sent) {
  const seen = quoteSeen.get(id);
  // A quote is published per offer per chunk for its newest tick; older ticks of the chunk are
  // superseded in the same transaction and have no quote of their own.
  if (seen !== undefined) latencies.push(seen - at);
}
latencies.sort((a, b) => a - b);
const steadyRate = total / ((latencyEnd - latencyStart) / 1_000);
const rss = Math.max(...services.map((s) => peakRssMiB(s.pid!)));
const scraped = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
const chunkLines = scraped.split('\n').filter((l) => /^spotgrid_(consumer_chunk_(seconds|messages)|consumer_transaction_messages|consumer_delay_seconds|outbox_delay_seconds)_(sum|count)/.test(l));

// ---- 3. baseline: bare consumer over the same ticks ------------------------------------------
const baseline = kafka.consumer({ groupId: `${run}.baseline`, maxBytesPerPartition: 1_048_576 });
await baseline.connect();
await baseline.subscribe({ topic: Topic.SpotPrices });
const wanted = i;
let read = 0;
// From the first batch, like market-data's rate (from its first tick applied): joining the group
// takes about as long as reading everything, and was counted in this rate until stop 29.
let b0 = 0;
let baselineCpu0 = process.cpuUsage();
await new Promise<void>((resolve) => {
  void baseline.run({
    eachBatch: async ({ batch }) => {
      if (b0 === 0) {
        b0 = performance.now();
        baselineCpu0 = process.cpuUsage();
      }
      for (const m of batch.messages) if (m.headers?.[KEY_ID_HEADER] !== undefined && m.key?.toString().startsWith('bench-p')) read += 1;
      if (read >= wanted) resolve();
    },
  });
});
const baselineRate = read / ((performance.now() - b0) / 1_000);
const baselineCpu = process.cpuUsage(baselineCpu0);
const baselineµsPerMessage = (baselineCpu.user + baselineCpu.system) / read;

console.log(`
bench:ingest  (${N.toLocaleString('en-US')} ticks, ${PROVIDERS * OFFERS_PER_PROVIDER} offers, market-data as ${INSTANCES === 1 ? 'its own process' : `${INSTANCES} processes in one group`})
  throughput    ${fmt(throughput, 0)} ticks/s applied, draining a backlog (${fmt((tApplied - t0) / 1_000, 2)} s; produced in ${fmt(produceSeconds, 2)} s)
                budget 50,000 ticks/s → ratio ${fmt(throughput / 50_000, 2)}
                CPU µs per tick while draining: ${drainCpu.join(', ')} (two cores at 50,000 ticks/s: 40 in all)
  latency       at ${fmt(steadyRate, 0)} ticks/s for ${LATENCY_SECONDS} s, publish → quote on ${Topic.Quotes}:
                p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(latencies.at(-1) ?? NaN)} ms (${latencies.length.toLocaleString('en-US')} quotes)
                budget p99 50 ms → ratio ${fmt(percentile(latencies, 99) / 50, 2)}
                CPU µs per tick at this rate: ${steadyCpu.join(', ')}
  memory        market-data peak RSS ${fmt(rss, 0)} MiB${INSTANCES === 1 ? '' : ' (the largest instance)'}
  chunks        ${INSTANCES === 1 ? '' : '(the first instance) '}${chunkLines.join('\n                ')}
  baseline      bare kafkajs consumer, same ticks, same run: ${fmt(baselineRate, 0)} msgs/s, ${fmt(baselineµsPerMessage, 1)} µs of CPU a message → ingest is ${fmt(throughput / baselineRate, 2)}× of it
`);

await Promise.all(services.map((s) => stopService(s)));
await Promise.allSettled([baseline.disconnect(), quotesConsumer.disconnect(), producer.disconnect(), admin.disconnect(), db.end()]);
process.exit(0);
