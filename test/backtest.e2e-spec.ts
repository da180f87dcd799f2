import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Topic, type EnergyTariff, type SpotPriceTick } from '#contracts';
import { Backtester } from '../tools/backtest/backtester.js';
import { readJobs, readLines } from '../tools/backtest/inputs.js';
import { count } from './support/db.js';
import { produce } from './support/kafka.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { asRecord, feedKey, testProvider } from './support/ticks.js';
import { waitFor } from './support/wait.js';
import { auth, serviceAuth } from './support/auth.js';

jest.setTimeout(240_000);

/**
 * The live engine agrees with the backtester: a small history, shifted to the present, goes
 * through Kafka into the running services; the same jobs go over HTTP; the allocations the engine
 * makes, and what they cost, are exactly those the backtester computes from the same messages.
 */
describe('the live engine and the backtester decide alike', () => {
  const market = new ServiceProcess('market-data');
  const engine = new ServiceProcess('matching-engine');
  const billing = new ServiceProcess('billing');
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url });

  beforeAll(async () => {
    await startAll([market, engine, billing, gateway]);
  });

  afterAll(async () => {
    await stopAll([market, engine, gateway, billing]);
  });

  it('makes the same allocations at the same prices, job for job', async () => {
    const label = randomUUID().slice(0, 6);
    const instrument = `gpu:t-agree-${label}`;
    const zone = `zone-agree-${label}`;
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString();
    // Three offers: one pays the zone's tariff, the others include energy.
    const offers = [
      { id: testProvider('agree-a'), region: 'us-east-1', price: '2.10', capacity: '4', energyIncluded: false },
      { id: testProvider('agree-b'), region: 'eu-west-1', price: '2.25', capacity: '6', energyIncluded: true },
      { id: testProvider('agree-c'), region: 'us-east-1', price: '2.60', capacity: '50', energyIncluded: true },
    ];
    const ticks: SpotPriceTick[] = offers.map((o) => ({
      providerId: o.id,
      offerId: 'o-1',
      seq: 1,
      instrument,
      region: o.region,
      gridZone: zone,
      price: o.price,
      currency: 'USD',
      energyKwhPerUnit: '0.7',
      energyIncluded: o.energyIncluded,
      capacity: o.capacity,
      validFrom: at(-60_000),
      validUntil: at(2 * 3_600_000),
      attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention', hardware: 'H100' },
      publishedAt: at(-60_000),
    }));
    // Half-hours from the one in force now, in USD per MWh: 0.7 kWh × 80 USD/MWh = 0.056 USD per unit now.
    const slotStart = Math.floor((now - 120_000) / 1_800_000) * 1_800_000;
    const tariff: EnergyTariff = {
      zone,
      kind: 'day-ahead',
      currency: 'USD',
      unit: 'MWh',
      slots: Array.from({ length: 6 }, (_, i) => ({
        start: new Date(slotStart + i * 1_800_000).toISOString(),
        end: new Date(slotStart + (i + 1) * 1_800_000).toISOString(),
        price: String(80 + 10 * i),
      })),
      seq: 1,
      publishedAt: at(-120_000),
    };
    await produce(Topic.EnergyTariffs, [{ key: zone, value: Buffer.from(JSON.stringify(tariff)) }]);
    await waitFor('the tariff stored', async () => ((await count(`SELECT count(*) AS n FROM market.tariff_slots WHERE zone = $1`, [zone])) === 6 ? true : undefined), 60_000, 100);
    for (const t of ticks) await produce(Topic.SpotPrices, [asRecord(t, await feedKey(t.providerId))]);
    await waitFor('every ask in the book', async () => {
      const n = await count(`SELECT count(*) AS n FROM matching.offers WHERE instrument = $1`, [instrument]);
      return n === 3 ? true : undefined;
    }, 60_000, 100);

    const customer = `cust-agree-${label}`;
    const topUp = await fetch(`${billing.url}/v1/customers/${customer}/top-ups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...serviceAuth() },
      body: JSON.stringify({ amount: '100000', reference: randomUUID() }),
    });
    expect(topUp.status).toBe(201);
    const bodies = [
      // Splits across the two cheapest (4 + 2 units). Deferrable, but the tariff only rises: it trades now.
      { instrument, quantity: '6', limitPrice: '3', deadline: at(3_600_000), runtimeSeconds: 600, deferrable: true, work: { type: 'gpu-hours', hours: '6' } },
      // Only us-east-1: what is left there is the dearer offer.
      { instrument, quantity: '3', limitPrice: '3', deadline: at(3_600_000), runtimeSeconds: 600, deferrable: false, constraints: { regions: ['us-east-1'] }, work: { type: 'gpu-hours', hours: '3' } },
      // All or none: 8 units at once, from the 4 left at b and 4 of c (several fills, all together).
      { instrument, quantity: '8', limitPrice: '3', deadline: at(3_600_000), runtimeSeconds: 600, deferrable: false, allowSplit: false, work: { type: 'gpu-hours', hours: '8' } },
    ];
    const submitted: { id: string; submittedAt: string; body: (typeof bodies)[number] }[] = [];
    for (const body of bodies) {
      const res = await fetch(`${gateway.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await auth('customer', customer)), 'idempotency-key': randomUUID() },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      const job = (await res.json()) as { id: string; createdAt: string };
      // One at a time, so the engine sees them in the order the backtester replays them.
      await waitFor(`job ${job.id} matched`, async () => {
        const s = (await (await fetch(`${gateway.url}/v1/jobs/${job.id}`, { headers: await auth('customer', customer) })).json()) as { status: string };
        return s.status === 'matched' ? true : undefined;
      }, 60_000, 100);
      submitted.push({ id: job.id, submittedAt: job.createdAt, body });
    }

    const live = await Promise.all(
      submitted.map(async (s) => {
        const view = (await (await fetch(`${gateway.url}/v1/jobs/${s.id}`, { headers: await auth('customer', customer) })).json()) as {
          allocations: { id: string; providerId: string; offerId: string; quantity: string; unitPrice: { computeNanoUsd: string; energyNanoUsd: string; effectiveNanoUsd: string }; amountNanoUsd: string; feeNanoUsd: string }[];
        };
        return view.allocations.map((a) => [a.id, a.providerId, a.offerId, a.quantity, a.unitPrice.computeNanoUsd, a.unitPrice.energyNanoUsd, a.unitPrice.effectiveNanoUsd, a.amountNanoUsd, a.feeNanoUsd]);
      }),
    );

    const lines = (xs: readonly unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n');
    const report = new Backtester(200).run({
      ticks: readLines('ticks', lines(ticks), Topic.SpotPrices),
      tariffs: readLines('tariffs', lines([tariff]), Topic.EnergyTariffs),
      fx: [],
      jobs: readJobs('jobs', lines(submitted.map((s) => ({ id: s.id, customerId: customer, submittedAt: s.submittedAt, ...s.body })))),
    });
    const backtested = report.jobs.map((j) =>
      j.allocations.map((a) => [a.allocationId, a.providerId, a.offerId, a.quantity, a.computeNanoUsd, a.energyNanoUsd, a.effectiveNanoUsd, a.amountNanoUsd, a.feeNanoUsd]),
    );
    expect(live).toEqual(backtested);
    // And the decisions are the expected ones, not merely equal.
    expect(backtested.map((allocations) => allocations.map((a) => [a[1], a[3]]))).toEqual([
      [[offers[0]?.id, '4'], [offers[1]?.id, '2']],
      [[offers[2]?.id, '3']],
      [[offers[1]?.id, '4'], [offers[2]?.id, '4']],
    ]);
    // 0.7 kWh × the USD/MWh of the half-hour the first job was matched in (80, 90, … from slotStart).
    const slot = Math.floor((Date.parse(submitted[0]?.submittedAt ?? '') - slotStart) / 1_800_000);
    expect(backtested[0]?.[0]?.[5]).toBe(String(700_000 * (80 + 10 * slot)));
    const liveTotal = live.flat().reduce((t, a) => t + BigInt(a[7] as string) + BigInt(a[8] as string), 0n);
    expect(report.totals.costNanoUsd).toBe(liveTotal.toString());
  });
});
