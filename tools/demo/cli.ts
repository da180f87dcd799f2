/**
 * `npm run demo` (and `npm start`, unless `--no-demo`): a living market on the local stack, made of
 * real prices and simulated people, all talking to Spotgrid the way real ones would.
 *
 * - Providers publish signed ticks over Kafka: the GPU cloud snapshot (537 real list prices, five
 *   clouds, 53 regions), re-published every few minutes, and the AWS c5a.2xlarge spot history
 *   replayed 1,000× faster, so prices move every few seconds. Energy is billed apart, at the zone's
 *   tariff: the Octopus Agile half-hourly tariff, laid over today, a different day per zone.
 * - Customers submit jobs through the gateway every few seconds, with a limit above the best price;
 *   the simulated dispatcher runs them and billing charges them.
 * - An admin (the bootstrap key) makes the principals and keys; finance tops the customers up.
 *
 * Sign-in keys for the dashboard go to .stack/demo.json (local only; `--keys-file F` elsewhere).
 * Ctrl-C stops it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Producer } from 'kafkajs';
import { contractOf, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, Topic, type EnergyTariff, type SpotPriceTick } from '#contracts';
import { createIdempotentProducer, createKafka, ensureTopics } from '#messaging';
import { loadConfig } from '#platform';
import { convert } from '../feed/formats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const config = loadConfig();
const GATEWAY = `http://127.0.0.1:${config.GATEWAY_PORT}`;
const log = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);
const { values: args } = parseArgs({ options: { 'keys-file': { type: 'string' } } });
const KEYS_FILE = path.resolve(args['keys-file'] ?? path.join(ROOT, '.stack', 'demo.json'));

/** How much faster than history the AWS spot prices replay. */
const SPOT_SPEED = 1_000;
const SNAPSHOT_EVERY_MS = 5 * 60_000;
const JOB_EVERY_MS = 3_000;
const CUSTOMERS = ['acme', 'globex', 'initech'] as const;
const FX = { base: 'GBP', quote: 'USD', rate: '1.2650' };

/** The real data files: the shared copies when present, else the project's own fixtures. */
function dataFile(name: string, fallback = name): string {
  const shared = path.join(ROOT, '..', 'shared', 'data', name);
  return existsSync(shared) ? shared : path.join(ROOT, 'test', 'fixtures', fallback);
}

async function api<T>(method: string, route: string, key: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${GATEWAY}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as T };
}

/** A principal of this role with a fresh key (made on first run; a new key on each run, as keys are shown once). */
async function principal(admin: string, id: string, role: string, name: string): Promise<string> {
  const created = await api<{ key: { token: string } }>('POST', '/v1/admin/principals', admin, { id, role, name, keyLabel: 'demo' });
  if (created.status === 201) return created.body.key.token;
  const issued = await api<{ token: string }>('POST', `/v1/admin/principals/${encodeURIComponent(id)}/keys`, admin, { label: `demo ${new Date().toISOString()}` });
  if (issued.status !== 201) throw new Error(`could not issue a key to ${id}: ${issued.status} ${JSON.stringify(issued.body)}`);
  return issued.body.token;
}

async function waitForGateway(): Promise<void> {
  for (let i = 0; i < 120; i += 1) {
    const ok = await fetch(`${GATEWAY}/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`the gateway at ${GATEWAY} is not ready`);
}

class Feed {
  private readonly keys = new Map<string, { keyId: string; secret: string }>();
  constructor(
    private readonly producer: Producer,
    private readonly admin: string,
  ) {}

  /** Ticks signed by their provider's feed key (issued through the admin API on first use). */
  async ticks(ticks: readonly SpotPriceTick[]): Promise<void> {
    const contract = contractOf(Topic.SpotPrices);
    const messages = [];
    for (const tick of ticks) {
      let key = this.keys.get(tick.providerId);
      if (key === undefined) {
        await principal(this.admin, tick.providerId, 'provider', `${tick.providerId} (demo provider)`).catch(() => undefined);
        const issued = await api<{ keyId: string; secret: string }>('POST', `/v1/admin/providers/${encodeURIComponent(tick.providerId)}/feed-keys`, this.admin);
        if (issued.status !== 201) throw new Error(`no feed key for ${tick.providerId}: ${issued.status}`);
        key = issued.body;
        this.keys.set(tick.providerId, key);
      }
      const value = JSON.stringify(tick);
      messages.push({ key: contract.key(tick), value, headers: { [KEY_ID_HEADER]: key.keyId, [SIGNATURE_HEADER]: signFeed(value, key.secret) } });
    }
    for (let i = 0; i < messages.length; i += 500) await this.producer.send({ topic: Topic.SpotPrices, acks: -1, messages: messages.slice(i, i + 500) });
  }

  async tariffs(tariffs: readonly EnergyTariff[]): Promise<void> {
    const contract = contractOf(Topic.EnergyTariffs);
    await this.producer.send({ topic: Topic.EnergyTariffs, acks: -1, messages: tariffs.map((t) => ({ key: contract.key(t), value: JSON.stringify(t) })) });
  }

  async fx(): Promise<void> {
    const rate = { ...FX, asOf: new Date(Date.now() - 60_000).toISOString() };
    await this.producer.send({ topic: Topic.FxRates, acks: -1, messages: [{ key: contractOf(Topic.FxRates).key(rate), value: JSON.stringify(rate) }] });
  }
}

/** Sequence numbers that only grow, across restarts of the demo too. */
let lastSeq = 0;
const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, Math.floor(Date.now() / 1_000)));

/** The GPU snapshot, valid from now for a while, energy billed apart at 0.7 kWh per GPU-hour. */
function snapshotTicks(): SpotPriceTick[] {
  const now = Date.now();
  const seq = nextSeq();
  return convert('gpu-snapshot', readFileSync(dataFile('gpu_cloud_price_observations_2026-09-29.csv'), 'utf8'), { energyIncluded: false, energyKwhPerUnit: '0.7' })
    .flatMap((m) => (m.kind === 'tick' ? [m.tick] : []))
    .map((t) => ({ ...t, seq, validFrom: new Date(now).toISOString(), validUntil: new Date(now + 2 * SNAPSHOT_EVERY_MS).toISOString(), publishedAt: new Date(now).toISOString() }));
}

/** Tariffs for today and tomorrow in every zone the offers name: Octopus Agile days, a different one per zone. */
function tariffsFor(zones: readonly string[]): EnergyTariff[] {
  const days = convert('octopus-agile', readFileSync(dataFile('octopus_agile_A_Eastern_England_2018-2021.csv', 'octopus_agile_A_Eastern_England_2018-12.csv'), 'utf8'))
    .flatMap((m) => (m.kind === 'tariff' && m.tariff.slots.length === 48 ? [m.tariff] : []));
  const today = Math.floor(Date.now() / 86_400_000);
  const seq = nextSeq();
  return zones.flatMap((zone, z) =>
    [0, 1].map((offset) => {
      const source = days[(z * 7 + offset) % days.length] as EnergyTariff;
      const shift = (today + offset) * 86_400_000 - Date.parse(source.slots[0]?.start ?? '');
      const at = (iso: string) => new Date(Date.parse(iso) + shift).toISOString();
      return { ...source, zone, seq: seq + offset, publishedAt: new Date().toISOString(), slots: source.slots.map((s) => ({ ...s, start: at(s.start), end: at(s.end) })) };
    }),
  );
}

/** The AWS spot history, oldest first, to replay on a compressed clock. */
function spotHistory(): SpotPriceTick[] {
  return convert('aws-spot', readFileSync(dataFile('aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv'), 'utf8'), { energyIncluded: false })
    .flatMap((m) => (m.kind === 'tick' ? [m.tick] : []))
    .sort((a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom));
}

async function replaySpot(feed: Feed, history: readonly SpotPriceTick[], stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const t0 = Date.parse(history[0]?.validFrom ?? '');
    const started = Date.now();
    for (const tick of history) {
      if (stopped()) return;
      const due = started + (Date.parse(tick.validFrom) - t0) / SPOT_SPEED;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const now = Date.now();
      await feed.ticks([{ ...tick, seq: nextSeq(), validFrom: new Date(now).toISOString(), validUntil: new Date(now + 3_600_000).toISOString(), publishedAt: new Date(now).toISOString() }]);
    }
  }
}

/**
 * A customer's job: a few GPU-hours of a live instrument. Most limits sit a little above the best
 * ask with capacity left (they fill now); some below it (they rest in the book until prices fall).
 */
async function submitJob(customer: string, key: string): Promise<void> {
  const { body } = await api<{ instruments: { instrument: string }[] }>('GET', '/v1/instruments', key);
  const instruments = body?.instruments ?? [];
  const pick = instruments[Math.floor(Math.random() * instruments.length)];
  if (pick === undefined) return;
  const depth = await api<{ asks: { effectiveNanoUsd: string; region: string }[] }>('GET', `/v1/depth?instrument=${encodeURIComponent(pick.instrument)}`, key);
  const best = depth.body?.asks[0];
  if (best === undefined) return;
  const hours = (1 + Math.floor(Math.random() * 6) / 2).toFixed(1);
  const markup = Math.random() < 0.8 ? 110 + Math.floor(Math.random() * 40) : 85 + Math.floor(Math.random() * 10);
  const limit = (BigInt(best.effectiveNanoUsd) * BigInt(markup)) / 100n;
  const limitPrice = `${limit / 1_000_000_000n}.${(limit % 1_000_000_000n).toString().padStart(9, '0')}`;
  const regions = [...new Set(depth.body.asks.map((a) => a.region))];
  const region = Math.random() < 0.2 ? regions[Math.floor(Math.random() * regions.length)] : undefined;
  const res = await fetch(`${GATEWAY}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `demo-${customer}-${Date.now()}-${Math.random().toString(36).slice(2)}` },
    body: JSON.stringify({
      instrument: pick.instrument,
      quantity: hours,
      limitPrice,
      deadline: new Date(Date.now() + 2 * 3_600_000).toISOString(),
      runtimeSeconds: 600,
      deferrable: Math.random() < 0.3,
      ...(region === undefined ? {} : { constraints: { regions: [region] } }),
      work: { type: 'gpu-hours', hours },
    }),
  });
  if (res.status !== 201 && res.status !== 422 && res.status !== 402) log(`a job of ${customer} was refused: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const admin = config.BOOTSTRAP_ADMIN_KEY;
  if (admin === undefined) throw new Error('the demo needs BOOTSTRAP_ADMIN_KEY (the local stack has one by default)');
  await waitForGateway();
  const kafka = createKafka(config, 'demo', pino({ level: 'warn' }));
  await ensureTopics(kafka, config);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const feed = new Feed(producer, admin);

  const finance = await principal(admin, 'finance', 'finance', 'Finance (demo)');
  const customers = new Map<string, string>();
  for (const c of CUSTOMERS) {
    customers.set(c, await principal(admin, c, 'customer', `${c[0]?.toUpperCase()}${c.slice(1)} (demo customer)`));
    // Once a day per customer: the reference makes a restarted demo top up only once.
    await api('POST', `/v1/finance/customers/${c}/top-ups`, finance, { amount: '25000', reference: `demo-${c}-${new Date().toISOString().slice(0, 10)}` });
  }

  const snapshot = snapshotTicks();
  const history = spotHistory();
  const zones = [...new Set([...snapshot, ...history].map((t) => t.gridZone))];
  await feed.fx();
  await feed.tariffs(tariffsFor(zones));
  await feed.ticks(snapshot);
  const provider = snapshot[0]?.providerId ?? 'aws';
  const keys = { admin, finance, customer: customers.get('acme'), provider: await principal(admin, provider, 'provider', `${provider} (demo provider)`) };
  mkdirSync(path.dirname(KEYS_FILE), { recursive: true });
  writeFileSync(KEYS_FILE, `${JSON.stringify({ dashboard: `${GATEWAY}/`, keys, provider, customer: 'acme' }, null, 2)}\n`);
  log(`market open: ${snapshot.length} GPU offers in ${zones.length} zones, AWS spot replaying at ${SPOT_SPEED}×, ${CUSTOMERS.length} customers`);

  let stopped = false;
  const timers = [
    setInterval(() => void feed.ticks(snapshotTicks()).then(() => feed.fx()).catch((e: unknown) => log(`republishing failed: ${String(e)}`)), SNAPSHOT_EVERY_MS),
    setInterval(() => void feed.tariffs(tariffsFor(zones)).catch((e: unknown) => log(`tariffs failed: ${String(e)}`)), 6 * 3_600_000),
    setInterval(() => {
      const c = CUSTOMERS[Math.floor(Math.random() * CUSTOMERS.length)] as string;
      void submitJob(c, customers.get(c) as string).catch((e: unknown) => log(`job submission failed: ${String(e)}`));
    }, JOB_EVERY_MS),
  ];
  const stop = () => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    void producer.disconnect().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await replaySpot(feed, history, () => stopped);
}

main().catch((error: unknown) => {
  process.stderr.write(`[demo] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
