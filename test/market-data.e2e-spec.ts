import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { dlqTopicOf, Topic } from '#contracts';
import { Header } from '#messaging';
import { count, sql, ticksOf } from './support/db.js';
import { collect, mark, produce } from './support/kafka.js';
import { postgres, ServiceProcess, stack } from './support/services.js';
import { asRecord, feedKey, testProvider, tick, type TestKey } from './support/ticks.js';
import { waitFor } from './support/wait.js';

jest.setTimeout(180_000);

/** Waits until exactly `n` ticks of the provider are stored. */
async function stored(provider: string, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${n} ticks of ${provider}`, async () => ((await ticksOf(provider)) >= n ? true : undefined), timeoutMs, 200);
  expect(await ticksOf(provider)).toBe(n);
}

describe('market-data: spot prices from Kafka to PostgreSQL, exactly once', () => {
  let service: ServiceProcess;

  beforeAll(async () => {
    service = new ServiceProcess('market-data').start();
    await service.ready();
  });

  afterAll(async () => {
    await service?.stop();
  });

  /** A provider with its own feed key, as every test gets. */
  async function withKey(label: string): Promise<[string, TestKey]> {
    const id = testProvider(label);
    return [id, await feedKey(id)];
  }

  it('stores a tick once when the same message is delivered twice', async () => {
    const [provider, key] = await withKey('dup');
    const t = tick(provider, 1);
    await produce(Topic.SpotPrices, [asRecord(t, key), asRecord(t, key)]);
    await produce(Topic.SpotPrices, [asRecord(tick(provider, 2), key)]);
    await stored(provider, 2);
    // The second copy was seen, recorded as a duplicate sequence number, and not applied.
    expect(await count(`SELECT count(*) AS n FROM market.tick_rejections WHERE provider_id = $1 AND seq = 1 AND reason = 'duplicate-seq'`, [provider])).toBe(1);
  });

  it('sends a malformed message to the DLQ with its reason, and keeps consuming the partition', async () => {
    const [provider, feed] = await withKey('dlq');
    const key = `${provider}:h100-use1`;
    // Same key, so the same partition: the bad ones are in front of the good one.
    const since = await mark(dlqTopicOf(Topic.SpotPrices));
    await produce(Topic.SpotPrices, [
      { key, value: '{"providerId": "not json' },
      { key, value: JSON.stringify({ ...tick(provider, 1), price: 2.49 }) },
      asRecord(tick(provider, 2), feed),
    ]);
    await stored(provider, 1);

    const dead = await collect(since, (m) => m.key === key, (all) => all.length >= 2);
    expect(dead.map((m) => m.headers[Header.ErrorCode]).sort()).toEqual(['invalid', 'malformed']);
    const invalid = dead.find((m) => m.headers[Header.ErrorCode] === 'invalid');
    expect(invalid?.headers[Header.ErrorDetail]).toMatch(/price/);
    expect(invalid?.headers[Header.OriginalTopic]).toBe(Topic.SpotPrices);
    expect(invalid?.headers[Header.OriginalOffset]).toMatch(/^\d+$/);
    expect(invalid?.headers[Header.FirstSeen]).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The original bytes, untouched.
    expect(JSON.parse(invalid?.value?.toString() ?? '{}').price).toBe(2.49);
  });

  it('loses and duplicates nothing when the consumer is killed mid-stream and restarted', async () => {
    const [provider, key] = await withKey('kill');
    const total = 3_000;
    const records = Array.from({ length: total }, (_, i) => asRecord(tick(provider, i + 1, { offerId: `o${i % 12}` }), key));
    // Redeliveries are certain after a kill -9: the duplicates in the stream make them visible too.
    const withDuplicates = [...records, ...records.slice(0, 200)];
    const producing = (async () => {
      for (let i = 0; i < withDuplicates.length; i += 250) await produce(Topic.SpotPrices, withDuplicates.slice(i, i + 250));
    })();
    await waitFor('some ticks stored', async () => ((await ticksOf(provider)) > 0 ? true : undefined), 60_000, 20);
    await service.stop('SIGKILL');
    await producing;
    const before = await ticksOf(provider);
    expect(before).toBeLessThan(total);

    service = new ServiceProcess('market-data').start();
    await service.ready();
    await stored(provider, total);
    // Every offer ends at its highest sequence number: nothing applied out of order or twice.
    const offers = await sql<{ offer_id: string; last_seq: string }>('SELECT offer_id, last_seq FROM market.offers WHERE provider_id = $1 ORDER BY offer_id', [provider]);
    expect(offers).toHaveLength(12);
    for (const o of offers) expect(Number(o.last_seq)).toBe(total - ((total - Number(o.offer_id.slice(1)) - 1) % 12));
  });

  it('reports not-ready while the broker is down, then resumes with nothing lost', async () => {
    const [provider, key] = await withKey('broker');
    await produce(Topic.SpotPrices, [asRecord(tick(provider, 1), key)]);
    await stored(provider, 1);

    await stack('kafka-down');
    try {
      await waitFor('not ready', async () => ((await service.readyStatus()) === 503 ? true : undefined), 60_000, 250);
    } finally {
      await stack('kafka-up');
    }
    await produce(Topic.SpotPrices, [asRecord(tick(provider, 2), key), asRecord(tick(provider, 3), key)]);
    await service.ready(90_000);
    await stored(provider, 3, 90_000);
  });

  it('reports not-ready while PostgreSQL is down, retries, and stores what arrived meanwhile', async () => {
    const [provider, key] = await withKey('pg');
    await postgres('stop');
    try {
      await waitFor('not ready', async () => ((await service.readyStatus()) === 503 ? true : undefined), 30_000, 250);
      // Accepted by Kafka while the database is down: must be stored once it is back.
      await produce(Topic.SpotPrices, [asRecord(tick(provider, 1), key), asRecord(tick(provider, 2), key)]);
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      await postgres('start');
    }
    await service.ready(60_000);
    await stored(provider, 2);
  });

  it('finishes in-flight work and exits 0 on SIGTERM', async () => {
    const [provider, key] = await withKey('term');
    await produce(Topic.SpotPrices, Array.from({ length: 500 }, (_, i) => asRecord(tick(provider, i + 1), key)));
    await waitFor('first ticks', async () => ((await ticksOf(provider)) > 0 ? true : undefined), 30_000, 20);
    expect(await service.stop('SIGTERM')).toBe(0);
    service = new ServiceProcess('market-data').start();
    await service.ready();
    await stored(provider, 500);
  });
});
