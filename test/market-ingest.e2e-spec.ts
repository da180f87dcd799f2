import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { dlqTopicOf, Topic, type Quote } from '#contracts';
import { Header, Limits } from '#messaging';
import { octopusAgile, shift } from '../tools/feed/formats.js';
import { count, sql, ticksOf } from './support/db.js';
import { collect, mark, produce } from './support/kafka.js';
import { ROOT, serviceForSuite } from './support/services.js';
import { asRecord, feedKey, testProvider, tick } from './support/ticks.js';
import { waitFor } from './support/wait.js';

jest.setTimeout(180_000);
const run = promisify(execFile);
// Copies of ../shared/data (test/fixtures/README.md says from where).
const DATA = path.resolve(ROOT, 'test/fixtures');

describe('market data ingestion on the real stack', () => {
  serviceForSuite('market-data', { beforeAll, afterAll });

  it('applies each kind of bad or out-of-order tick exactly as the rules say, and nothing else', async () => {
    const provider = testProvider('rules');
    const other = testProvider('other');
    const key = await feedKey(provider);
    const otherKey = await feedKey(other);
    const revoked = await feedKey(provider);
    await sql('UPDATE gateway.feed_keys SET revoked_at = now() WHERE key_id = $1', [revoked.keyId]);
    const k = `${provider}:h100-use1`;
    const huge = { ...asRecord(tick(provider, 9), key), value: Buffer.alloc(Limits.maxMessageBytes + 1, 0x20) };

    const since = await mark(dlqTopicOf(Topic.SpotPrices));
    await produce(Topic.SpotPrices, [
      asRecord(tick(provider, 3), key), // applied
      asRecord(tick(provider, 2), key), // reordered: older than 3, recorded as stale
      asRecord(tick(provider, 3), key), // duplicate of 3
      asRecord(tick(provider, 4)), // unsigned
      asRecord(tick(provider, 5), otherKey), // signed by another provider's key
      asRecord(tick(provider, 6), revoked), // revoked key
      { ...asRecord(tick(provider, 7), key), value: Buffer.from(JSON.stringify(tick(provider, 7, { price: '9.9999' }))) }, // bytes changed after signing
      { key: k, value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, // garbage
      huge, // oversized
      asRecord(tick(provider, 8), key), // applied: the partition kept moving
    ]);
    await waitFor('tick 8 applied', async () => ((await count('SELECT count(*) AS n FROM market.offers WHERE provider_id = $1 AND last_seq = 8', [provider])) === 1 ? true : undefined));

    const stored = await sql<{ seq: string }>('SELECT seq FROM market.spot_price_ticks WHERE provider_id = $1 ORDER BY seq', [provider]);
    expect(stored.map((r) => Number(r.seq))).toEqual([3, 8]);
    const rejections = await sql<{ seq: string; reason: string }>('SELECT seq, reason FROM market.tick_rejections WHERE provider_id = $1 ORDER BY id', [provider]);
    expect(rejections.map((r) => [Number(r.seq), r.reason])).toEqual([[2, 'stale-seq'], [3, 'duplicate-seq']]);

    const dead = await collect(since, (m) => m.key === k, (all) => all.length >= 6);
    const reasons = dead.map((m) => `${m.headers[Header.ErrorCode]}:${m.headers[Header.ErrorDetail]?.split(':')[0] ?? ''}`).sort();
    expect(reasons).toEqual(
      [
        'malformed:not JSON',
        `too-large:${Limits.maxMessageBytes + 1} bytes, limit ${Limits.maxMessageBytes}`,
        'unauthenticated:bad-signature',
        'unauthenticated:revoked-key',
        'unauthenticated:unsigned',
        'unauthenticated:wrong-provider',
      ].sort(),
    );
    // The oversized message's DLQ copy is its head and its size: the whole would be refused too.
    const tooLarge = dead.find((m) => m.headers[Header.ErrorCode] === 'too-large');
    expect(tooLarge?.headers[Header.OriginalSize]).toBe(String(Limits.maxMessageBytes + 1));
    expect(tooLarge?.value?.length).toBe(Limits.dlqTruncatedBytes);
    expect(await ticksOf(other)).toBe(0);
  });

  it('replays the AWS spot history so that the stored steps give the file price per zone at any instant', async () => {
    const provider = testProvider('aws');
    const { stdout } = await run(process.execPath, ['dist/tools/feed/cli.js', '--file', path.join(DATA, 'aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv'), '--format', 'aws-spot', '--end-at-now', '--provider', provider], {
      cwd: ROOT,
      env: process.env,
    });
    expect(stdout).toMatch(/published 869 messages/);
    await waitFor('869 ticks', async () => ((await ticksOf(provider)) === 869 ? true : undefined), 60_000, 200);

    // The file, read independently: per zone, the price of the last row at or before an instant.
    const rows = readFileSync(path.join(DATA, 'aws_ec2_spot_price_history_c5a2xlarge_us-east-1.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').map((cell) => cell.trim()))
      .map(([ts, , , price, zone]) => ({ at: Date.parse((ts as string).replace(' ', 'T')), price: price as string, zone: zone as string }));
    const expectedAt = (zone: string, at: number) =>
      rows.filter((r) => r.zone === zone && r.at <= at).sort((a, b) => b.at - a.at)[0]?.price;

    const [{ first }] = await sql<{ first: Date }>('SELECT min(valid_from) AS first FROM market.spot_price_ticks WHERE provider_id = $1', [provider]) as [{ first: Date }];
    const delta = first.getTime() - Math.min(...rows.map((r) => r.at));
    const zones = [...new Set(rows.map((r) => r.zone))];
    // Every 37th row's instant, the instant just before it, and a few between steps.
    const samples = rows.filter((_, i) => i % 37 === 0).flatMap((r) => [r.at, r.at - 1_000, r.at + 600_000]);
    for (const at of samples) {
      const stored = await sql<{ region: string; price: string }>(
        `SELECT DISTINCT ON (region) region, price::text AS price FROM market.spot_price_ticks
          WHERE provider_id = $1 AND valid_from <= $2 ORDER BY region, valid_from DESC`,
        [provider, new Date(at + delta)],
      );
      const byZone = Object.fromEntries(stored.map((r) => [r.region, r.price]));
      for (const zone of zones) expect([zone, at, byZone[zone]]).toEqual([zone, at, expectedAt(zone, at)]);
    }
  });

  it('prices an offer with the Octopus Agile slot in force, exactly, and re-quotes at the slot boundary into a negative price', async () => {
    const provider = testProvider('octo');
    const key = await feedKey(provider);
    const zone = `octopus-${provider}`;
    const instrument = `gpu:npu-${provider.slice(-8)}`;
    // 2018-12-08 from the real file: 03:00 is 0.2205 p/kWh, 03:30 is -0.882 p/kWh.
    const day = readFileSync(path.join(DATA, 'octopus_agile_A_Eastern_England_2018-12.csv'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('2018-12-08T'))
      .join('\n');
    const [published] = octopusAgile(day, { zone });
    // Move the day so that 03:30, the boundary, comes 15 s from now (time for the first quote even
    // on a busy machine).
    const boundary = Date.parse('2018-12-08T03:30:00Z');
    const moved = shift(published!, Date.now() + 15_000 - boundary);
    if (moved.kind !== 'tariff') throw new Error('a tariff');
    const now = new Date().toISOString();
    const t = tick(provider, 1, {
      instrument,
      gridZone: zone,
      price: '2.00',
      energyKwhPerUnit: '0.7',
      energyIncluded: false,
      validFrom: new Date(Date.now() - 60_000).toISOString(),
      validUntil: new Date(Date.now() + 3_600_000).toISOString(),
      publishedAt: now,
    });
    const since = await mark(Topic.Quotes);
    await produce(Topic.FxRates, [{ key: 'GBP:USD', value: JSON.stringify({ base: 'GBP', quote: 'USD', rate: '1.25', asOf: new Date(Date.now() - 120_000).toISOString() }) }]);
    await produce(Topic.EnergyTariffs, [{ key: zone, value: JSON.stringify(moved.tariff) }]);
    await produce(Topic.SpotPrices, [asRecord(t, key)]);

    const quotes = await collect(since, (m) => m.key === instrument, (all) => all.some((m) => m.value?.toString().includes('"energyNanoUsd":"-7717500"')), 60_000);
    const [before, after] = quotes.map((m) => JSON.parse(m.value?.toString() ?? '{}') as Quote);
    expect(quotes.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as Quote).energyNanoUsd)).toEqual(['1929375', '-7717500']);
    // 0.7 kWh × 0.2205 p = 0.15435 p = £0.0015435 × 1.25 = $0.001929375
    expect(before).toMatchObject({ computeNanoUsd: '2000000000', energyNanoUsd: '1929375', effectiveNanoUsd: '2001929375' });
    // 0.7 kWh × -0.882 p = -0.6174 p = -£0.006174 × 1.25 = -$0.0077175: the buyer is paid for energy
    expect(after).toMatchObject({ computeNanoUsd: '2000000000', energyNanoUsd: '-7717500', effectiveNanoUsd: '1992282500' });
    expect(Date.parse(after!.asOf)).toBeGreaterThanOrEqual(Date.parse(moved.tariff.slots[7]!.start));
  });
});
