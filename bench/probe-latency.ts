/**
 * One tick at a time, nothing else running: where the fixed latency of a tick goes. Not a budget
 * benchmark; a diagnostic for bench:ingest's latency figure (npm run build, then node dist/bench/probe-latency.js).
 */
import pg from 'pg';
import { pino } from 'pino';
import { feedSecretOf, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, Topic, type Quote } from '#contracts';
import { createIdempotentProducer, createKafka, ensureTopics } from '#messaging';
import { parseConfig } from '#platform';
import { runMigrations } from '#migrations';
import { fmt, freshDatabase, startService, stopService, waitReady } from './support.js';

const run = `probe${Date.now().toString(36)}`;
const databaseUrl = await freshDatabase('spotgrid_probe');
const env = { DATABASE_URL: databaseUrl, KAFKA_CLIENT_ID: run, MARKET_DATA_PORT: '3902', NODE_ENV: 'test' };
const config = parseConfig({ ...process.env, ...env });
await runMigrations(config);
const kafka = createKafka(config, 'probe', pino({ level: 'silent' }));
await ensureTopics(kafka, config);
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();
const secret = feedSecretOf(config.FEED_SECRETS_KEY, 'fk_probe');
await db.query(`INSERT INTO gateway.feed_keys (key_id, provider_id) VALUES ('fk_probe', 'probe')`);
const admin = kafka.admin();
await admin.connect();
for (const [group, topic] of [[`${run}.market-data`, Topic.SpotPrices], [`${run}.market-data`, Topic.EnergyTariffs], [`${run}.market-data`, Topic.FxRates], [`${run}.q`, Topic.Quotes]] as const) {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: group, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
}
const arrived = new Map<number, number>();
const consumer = kafka.consumer({ groupId: `${run}.q` });
await consumer.connect();
await consumer.subscribe({ topic: Topic.Quotes });
await consumer.run({ eachMessage: async ({ message }) => {
  const q = JSON.parse(message.value?.toString() ?? '{}') as Quote;
  if (q.providerId === 'probe') arrived.set(q.sources.tickSeq, performance.now());
} });
const service = startService('market-data', env);
await waitReady('http://127.0.0.1:3902');
await new Promise((r) => setTimeout(r, 3_000));
const producer = createIdempotentProducer(kafka);
await producer.connect();
const rows: string[] = [];
for (let seq = 1; seq <= 20; seq += 1) {
  const tick = { providerId: 'probe', offerId: 'o1', seq, instrument: 'gpu:probe', region: 'r', gridZone: 'z', price: `1.${seq}`, currency: 'USD', energyKwhPerUnit: '0.5', energyIncluded: true, capacity: '1', validFrom: new Date(Date.now() - 1_000).toISOString(), validUntil: new Date(Date.now() + 3_600_000).toISOString(), attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention', hardware: 'x' }, publishedAt: new Date().toISOString() };
  const value = Buffer.from(JSON.stringify(tick));
  const t0 = performance.now();
  await producer.send({ topic: Topic.SpotPrices, acks: -1, messages: [{ key: 'probe:o1', value, headers: { [KEY_ID_HEADER]: 'fk_probe', [SIGNATURE_HEADER]: signFeed(value, secret) } }] });
  const tAck = performance.now();
  let tStored = 0;
  while (tStored === 0) {
    const r = await db.query('SELECT last_seq FROM market.offers WHERE provider_id = $1', ['probe']);
    if (Number(r.rows[0]?.last_seq ?? 0) >= seq) tStored = performance.now();
  }
  while (!arrived.has(seq) && performance.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 1));
  rows.push(`seq ${String(seq).padStart(2)}  produce ack ${fmt(tAck - t0)} ms  stored ${fmt(tStored - t0)} ms  quote seen ${fmt((arrived.get(seq) ?? NaN) - t0)} ms`);
  await new Promise((r) => setTimeout(r, 300));
}
console.log(rows.join('\n'));
await stopService(service);
await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect(), db.end()]);
process.exit(0);
