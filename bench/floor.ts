/**
 * bench:floor — what the parts that issues 3 and 4 prescribe cost on this machine when they do
 * nothing else, at the rates of their budgets (DESIGN.md 14). No Spotgrid service runs: each part
 * is the library or server alone, the way the services use it.
 *
 *   ingest, at 50,000 ticks/s (two cores leave 40 µs of CPU a tick for everything):
 *     - the broker and a bare kafkajs consumer, carrying bench:ingest's signed ticks, produced
 *       first and read as a backlog like bench:ingest's drain, which gives the consumer its
 *       largest fetches (the producer stands for the providers, and is shown apart, not summed);
 *     - the feed signature's check (HMAC-SHA256 over the tick's bytes), as market-data does it;
 *     - PostgreSQL storing the tick rows alone, in transactions of 1,000, by `COPY` (its cheapest
 *       way in), without the offers, quotes and outbox that market-data's write adds; the same
 *       rows as market-data sends them (`INSERT … SELECT FROM unnest` of binary arrays) are shown
 *       beside, not summed.
 *   match, at 1,000 jobs/s (2,000 µs a job):
 *     - an HTTP request with a job's body, answered at once (node:http, as Nest's Express runs on);
 *       the client stands for the customers, and is shown apart;
 *     - BullMQ: jobs added in bulks of what arrived in 10 ms (as the gateway's JobWriter does),
 *       and a worker in another process taking them, plus Redis. Lighter than the services' own
 *       use: a completed job is removed at once (the gateway keeps a day's), with no retries;
 *     - one allocation message a job through the broker (producer and broker; the consumer is
 *       the dispatcher's, after "published", and is shown apart).
 *
 * Each part's CPU is read from /proc for its own process, so the parts can run side by side
 * without one's cost landing on another. The sum is a floor: a service pays each part and more.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { authenticateFeed, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, type SpotPriceTick } from '#contracts';
import { boolArray, int8Array, textArray } from '#persistence';
import { runMigrations } from '#migrations';
import { parseConfig } from '#platform';
import { benchTick, cpuSeconds, fmt, freshDatabase, readStackCpu, stackCpuSince } from './support.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const TICK_RATE = 50_000;
const JOB_RATE = 1_000;
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const REDIS = { host: process.env['REDIS_HOST'] ?? '127.0.0.1', port: Number(process.env['REDIS_PORT'] ?? 6379) };
const self = fileURLToPath(import.meta.url);
const kafka = new Kafka({ clientId: 'bench-floor', brokers: BROKERS, logLevel: logLevel.NOTHING });

/** A helper process's side: answers each `{ ask: 'cpu' }` with its counter and its CPU so far. */
function answerCpu(count: () => number): void {
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send?.({ count: count(), cpuMicros: u.user + u.system });
  });
}

interface Reading {
  count: number;
  cpuMicros: number;
}

/** Starts this file in another role and waits for it to say it is ready. */
async function helper(role: string, ...args: string[]): Promise<{ child: ChildProcess; read: () => Promise<Reading> }> {
  const child = fork(self, [role, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`floor helper ${role} exited with ${code}`)));
  });
  const read = () =>
    new Promise<Reading>((resolve) => {
      child.once('message', (m) => resolve(m as Reading));
      child.send({ ask: 'cpu' });
    });
  return { child, read };
}

/**
 * Sends `total` units at `rate` a second: waits until about `everyMs` worth has come due, then
 * calls `send(n, from)` with all of it (at most `max`) and awaits it. Returns the rate reached.
 */
async function paced(rate: number, total: number, everyMs: number, max: number, send: (n: number, from: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let done = 0;
  while (done < total) {
    const wait = t0 + ((done + 1) / rate) * 1_000 + everyMs - 1 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const due = Math.ceil(((performance.now() - t0) / 1_000) * rate) - done;
    const n = Math.max(1, Math.min(due, max, total - done));
    await send(n, done);
    done += n;
  }
  return done / ((performance.now() - t0) / 1_000);
}

// ---- helper roles (child processes) -----------------------------------------------------------

async function kafkaConsumerRole(topic: string): Promise<void> {
  const consumer = kafka.consumer({ groupId: `${topic}.floor`, maxBytesPerPartition: 2_097_152 });
  let count = 0;
  answerCpu(() => count);
  consumer.on(consumer.events.GROUP_JOIN, () => process.send?.('ready'));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      // kafkajs has decoded every record (key, value, headers) before it hands the batch over.
      count += batch.messages.length;
    },
  });
}

function httpServerRole(): void {
  let count = 0;
  answerCpu(() => count);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      count += 1;
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"id":"00000000-0000-0000-0000-000000000000","status":"queued"}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
}

async function bullWorkerRole(queue: string): Promise<void> {
  let count = 0;
  answerCpu(() => count);
  const worker = new Worker(
    queue,
    async () => {
      count += 1;
    },
    { connection: REDIS, concurrency: 32 },
  );
  await worker.waitUntilReady();
  process.send?.('ready');
}

// ---- the parts, measured -----------------------------------------------------------------------

interface Part {
  name: string;
  micros: number;
  /** Stands for the users' side (providers, customers, the dispatcher): shown, not summed. */
  outside?: boolean;
}

/**
 * `count` messages through a fresh topic, the producer here and a bare consumer in its own
 * process. `drain`: the messages are produced first and the consumer reads them as a backlog, as
 * bench:ingest's throughput phase does (its cheapest case: the largest fetches); the broker's
 * share is its CPU over both phases. Otherwise the producer keeps to `rate` and the consumer
 * reads along, as allocations flow at a steady rate.
 */
async function kafkaPipe(opts: { rate: number; count: number; drain: boolean; message: (i: number) => { key: string; value: Buffer; headers: Record<string, string> } }): Promise<{ parts: Part[]; reached: number; read: number }> {
  const { rate, count, drain, message } = opts;
  const topic = `bench.floor.${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] });
  // As the services and bench:ingest produce: idempotent, one request in flight, every replica.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let consumer = drain ? undefined : await helper('kafka-consumer', topic);
  let c0 = await consumer?.read();
  const p0 = process.cpuUsage();
  const s0 = readStackCpu();
  const reached = await paced(drain ? Number.POSITIVE_INFINITY : rate, count, 5, 1_000, async (n, from) => {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, j) => message(from + j)) });
  });
  const p1 = process.cpuUsage(p0);
  let broker = stackCpuSince(s0).find((s) => s.name === 'broker')?.seconds ?? Number.NaN;
  const s1 = readStackCpu();
  consumer ??= await helper('kafka-consumer', topic);
  // A drain's consumer may have read some messages before its first reading: counted from there.
  c0 ??= await consumer.read();
  const t0 = performance.now();
  let c1 = await consumer.read();
  while (c1.count < count) {
    await new Promise((r) => setTimeout(r, 20));
    c1 = await consumer.read();
  }
  if (drain) broker += stackCpuSince(s1).find((s) => s.name === 'broker')?.seconds ?? Number.NaN;
  else broker = stackCpuSince(s0).find((s) => s.name === 'broker')?.seconds ?? Number.NaN;
  const read = (c1.count - c0.count) / ((performance.now() - t0) / 1_000);
  consumer.child.kill();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return {
    reached,
    read,
    parts: [
      { name: 'producer', micros: (p1.user + p1.system) / count },
      { name: 'broker', micros: (broker * 1e6) / count },
      { name: 'consumer', micros: (c1.cpuMicros - c0.cpuMicros) / (c1.count - c0.count) },
    ],
  };
}

/**
 * `COPY … FROM STDIN` with `data` on pg's connection: a query object of the shape pg accepts
 * (`submit` and the protocol callbacks it calls), as the pg-copy-streams package does.
 */
function copyIn(db: pg.Client, text: string, data: Buffer): Promise<void> {
  interface CopyConnection {
    query(text: string): void;
    sendCopyFromChunk(chunk: Buffer): void;
    endCopyFrom(): void;
  }
  return new Promise((resolve, reject) => {
    let failed: Error | undefined;
    const submittable = {
      submit: (connection: CopyConnection) => connection.query(text),
      handleCopyInResponse: (connection: CopyConnection) => {
        connection.sendCopyFromChunk(data);
        connection.endCopyFrom();
      },
      handleCommandComplete: () => undefined,
      handleError: (error: Error) => {
        failed = error;
      },
      handleReadyForQuery: () => (failed === undefined ? resolve() : reject(failed)),
    };
    void db.query(submittable as unknown as pg.Submittable);
  });
}

/** bench:ingest's ticks, ten providers of 200 offers each. */
function tick(i: number, base: number): { tick: SpotPriceTick; value: Buffer } {
  const tick = benchTick(`bench-p${i % 10}`, Math.floor(i / 10) % 200, i + 1, i, base, new Date(base).toISOString());
  return { tick, value: Buffer.from(JSON.stringify(tick)) };
}

async function ingestFloor(): Promise<{ parts: Part[]; how: string }> {
  const count = TICK_RATE * SECONDS;
  const base = Date.now();
  const secret = 'floor-secret-0123456789abcdef0123456789abcdef';
  const ticks = Array.from({ length: 10_000 }, (_, i) => tick(i, base));
  const signed = ticks.map(({ value }) => ({ value, headers: { [KEY_ID_HEADER]: 'fk_floor', [SIGNATURE_HEADER]: signFeed(value, secret) } }));
  const pipe = await kafkaPipe({
    rate: TICK_RATE,
    count,
    drain: true,
    message: (i) => {
      const t = signed[i % signed.length] as (typeof signed)[number];
      return { key: `${i % 10}:${i % 2000}`, value: t.value, headers: t.headers };
    },
  });

  // The signature's check, as market-data calls it, over 10,000 distinct ticks, warmed up first.
  const key = { keyId: 'fk_floor', providerId: 'bench-p0', secret, revoked: false };
  const check = (rounds: number) => {
    let failures = 0;
    for (let r = 0; r < rounds; r += 1) for (const s of signed) if (authenticateFeed(s.value, s.headers, key.providerId, () => key) !== undefined) failures += 1;
    return failures;
  };
  check(2);
  const h0 = process.cpuUsage();
  const failures = check(10);
  const h1 = process.cpuUsage(h0);
  if (failures !== 0) throw new Error(`bench:floor: ${failures} signature checks failed; the measure would not be the check's`);
  const hmac = (h1.user + h1.system) / (10 * signed.length);

  // PostgreSQL storing the tick rows alone: market-data's column arrays, one transaction each.
  const databaseUrl = await freshDatabase('spotgrid_bench_floor');
  await runMigrations(parseConfig({ ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: 'test' }));
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('SELECT market.ensure_tick_partition($1::date)', [new Date(base - 60_000).toISOString()]);
  const backend = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
  const rows = 100_000;
  const chunk = 1_000;
  const arrays = (from: number) => {
    const ts = Array.from({ length: chunk }, (_, j) => tick(from + j, base).tick);
    return [
      textArray(ts.map((t) => t.providerId)),
      textArray(ts.map((t) => t.offerId)),
      int8Array(ts.map((t) => t.seq)),
      textArray(ts.map((t) => t.instrument)),
      textArray(ts.map((t) => t.region)),
      textArray(ts.map((t) => t.gridZone)),
      textArray(ts.map((t) => t.price)),
      textArray(ts.map((t) => t.currency)),
      textArray(ts.map((t) => t.energyKwhPerUnit)),
      boolArray(ts.map((t) => t.energyIncluded)),
      textArray(ts.map((t) => t.capacity)),
      textArray(ts.map((t) => t.validFrom)),
      textArray(ts.map((t) => t.validUntil)),
      textArray(ts.map((t) => JSON.stringify(t.attributes))),
      textArray(ts.map((t) => t.publishedAt)),
    ];
  };
  const statements = Array.from({ length: rows / chunk }, (_, k) => arrays(k * chunk));
  const b0 = cpuSeconds(backend);
  for (const params of statements) {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO market.spot_price_ticks (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
              energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
       SELECT p, o, s, i, r, z, pr::numeric, c, e::numeric, ei, cap::numeric, vf::timestamptz, vu::timestamptz, a::jsonb, pa::timestamptz
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
           AS t(p, o, s, i, r, z, pr, c, e, ei, cap, vf, vu, a, pa)`,
      params,
    );
    await db.query('COMMIT');
  }
  const insert = ((cpuSeconds(backend) - b0) * 1e6) / rows;
  // The same rows again (later seqs) through COPY, PostgreSQL's cheapest way in: no executor, no casts.
  const copies = Array.from({ length: rows / chunk }, (_, k) =>
    Buffer.from(
      Array.from({ length: chunk }, (_, j) => {
        const t = tick(rows + k * chunk + j, base).tick;
        return `${[t.providerId, t.offerId, t.seq, t.instrument, t.region, t.gridZone, t.price, t.currency, t.energyKwhPerUnit, t.energyIncluded, t.capacity, t.validFrom, t.validUntil, JSON.stringify(t.attributes), t.publishedAt].join('\t')}\n`;
      }).join(''),
    ),
  );
  const b1 = cpuSeconds(backend);
  for (const data of copies) {
    await db.query('BEGIN');
    await copyIn(db, 'COPY market.spot_price_ticks (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency, energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at) FROM STDIN', data);
    await db.query('COMMIT');
  }
  const copy = ((cpuSeconds(backend) - b1) * 1e6) / rows;
  await db.end();

  const [producer, broker, consumer] = pipe.parts as [Part, Part, Part];
  return {
    how: `a backlog of ${count.toLocaleString('en-US')} produced at ${fmt(pipe.reached, 0)}/s, read at ${fmt(pipe.read, 0)}/s`,
    parts: [
      { ...producer, name: 'kafkajs producer (the providers)', outside: true },
      { ...broker, name: 'broker' },
      { ...consumer, name: 'kafkajs consumer, bare' },
      { name: 'feed signature check', micros: hmac },
      { name: 'PostgreSQL, tick rows alone, by COPY', micros: copy },
      { name: 'PostgreSQL, the same by INSERT … unnest', micros: insert, outside: true },
    ],
  };
}

async function matchFloor(): Promise<{ parts: Part[]; how: string }> {
  const count = JOB_RATE * SECONDS;
  const body = JSON.stringify({
    instrument: 'gpu:h100-80gb',
    quantity: '1',
    limitPricePerUnit: '2.50',
    deadline: new Date(Date.now() + 3_600_000).toISOString(),
    allowSplit: true,
    constraints: { regions: ['us-east-1'] },
    work: { kind: 'gpu-hours', gpuHours: '1' },
  });
  const server = fork(self, ['http-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => server.once('message', (m) => resolve((m as { port: number }).port)));
  const readServer = () =>
    new Promise<Reading>((resolve) => {
      server.once('message', (m) => resolve(m as Reading));
      server.send({ ask: 'cpu' });
    });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/jobs', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': `floor-${i}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const h0 = await readServer();
  const c0 = process.cpuUsage();
  const inflight: Promise<void>[] = [];
  const reached = await paced(JOB_RATE, count, 1, 1_000, async (n, from) => {
    for (let j = 0; j < n; j += 1) inflight.push(post(from + j));
  });
  await Promise.all(inflight);
  const c1 = process.cpuUsage(c0);
  const h1 = await readServer();
  server.kill();
  agent.destroy();

  const name = `bench-floor-${Date.now().toString(36)}`;
  const worker = await helper('bull-worker', name);
  const queue = new Queue(name, { connection: REDIS });
  await queue.waitUntilReady();
  const w0 = await worker.read();
  const q0 = process.cpuUsage();
  const r0 = readStackCpu();
  await paced(JOB_RATE, count, 10, 1_000, async (n, from) => {
    await queue.addBulk(Array.from({ length: n }, (_, j) => ({ name: 'submit', data: { jobId: `j${from + j}`, quantity: '1000000', limit: '2500000000' }, opts: { jobId: `j${from + j}`, removeOnComplete: true, removeOnFail: 1_000 } })));
  });
  const q1 = process.cpuUsage(q0);
  let w1 = await worker.read();
  while (w1.count - w0.count < count) {
    await new Promise((r) => setTimeout(r, 20));
    w1 = await worker.read();
  }
  const redis = stackCpuSince(r0).find((s) => s.name === 'redis')?.seconds ?? Number.NaN;
  worker.child.kill();
  await queue.obliterate({ force: true });
  await queue.close();

  const allocation = Buffer.from(JSON.stringify({ allocationId: '00000000-0000-0000-0000-000000000000', jobId: '00000000-0000-0000-0000-000000000000', providerId: 'acme', offerId: 'o1', region: 'us-east-1', quantity: '1', unitPrice: '2.31', at: new Date().toISOString() }));
  const pipe = await kafkaPipe({ rate: JOB_RATE, count, drain: false, message: (i) => ({ key: `job-${i}`, value: allocation, headers: {} }) });
  const [producer, broker, consumer] = pipe.parts as [Part, Part, Part];
  return {
    how: `requests reached ${fmt(reached, 0)}/s`,
    parts: [
      { name: 'HTTP client (the customers)', micros: (c1.user + c1.system) / count, outside: true },
      { name: 'HTTP server, answering at once', micros: (h1.cpuMicros - h0.cpuMicros) / count },
      { name: 'BullMQ add, bulks of 10 ms', micros: (q1.user + q1.system) / count },
      { name: 'BullMQ worker', micros: (w1.cpuMicros - w0.cpuMicros) / count },
      { name: 'Redis', micros: (redis * 1e6) / count },
      { ...producer, name: 'kafkajs producer, one allocation a job' },
      { ...broker, name: 'broker' },
      { ...consumer, name: 'kafkajs consumer (the dispatcher)', outside: true },
    ],
  };
}

function report(title: string, unit: string, rate: number, how: string, parts: Part[]): string {
  const allowed = 2e6 / rate;
  const inside = parts.filter((p) => p.outside !== true);
  const sum = inside.reduce((s, p) => s + p.micros, 0);
  const width = Math.max(...parts.map((p) => p.name.length));
  const lines = parts.map((p) => `    ${p.name.padEnd(width)}  ${fmt(p.micros, 1).padStart(8)} µs${p.outside === true ? '   (not summed)' : ''}`);
  return `  ${title} at ${rate.toLocaleString('en-US')} ${unit}/s (${how}), CPU per ${unit}:
${lines.join('\n')}
    ${'floor, summed'.padEnd(width)}  ${fmt(sum, 1).padStart(8)} µs of the ${fmt(allowed, 0)} µs that two cores allow → ${fmt((100 * sum) / allowed, 0)}% of the machine before any of Spotgrid's own work
`;
}

switch (process.argv[2]) {
  case 'kafka-consumer':
    await kafkaConsumerRole(process.argv[3] as string);
    break;
  case 'http-server':
    httpServerRole();
    break;
  case 'bull-worker':
    await bullWorkerRole(process.argv[3] as string);
    break;
  default: {
    console.log(`bench:floor  (the prescribed parts alone, ${SECONDS} s at each budget's rate; DESIGN.md 14)\n`);
    const only = process.env['BENCH_FLOOR'];
    if (only === undefined || only === 'ingest') {
      const ingest = await ingestFloor();
      console.log(report('ingest: tick on Kafka → stored', 'tick', TICK_RATE, ingest.how, ingest.parts));
    }
    if (only === undefined || only === 'match') {
      const match = await matchFloor();
      console.log(report('match: job over HTTP → queued → allocation on Kafka', 'job', JOB_RATE, match.how, match.parts));
    }
    process.exit(0);
  }
}
