import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, Topic } from '#contracts';
import { count } from './support/db.js';
import { produce } from './support/kafka.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { feedKey, testProvider, tick, type TestKey } from './support/ticks.js';
import { waitFor } from './support/wait.js';
import { auth } from './support/auth.js';

jest.setTimeout(120_000);

describe('gateway: the HTTP feed, market reads and the quote stream', () => {
  const gateway = new ServiceProcess('gateway');
  const market = new ServiceProcess('market-data');

  beforeAll(async () => {
    await startAll([gateway, market]);
  });

  afterAll(async () => {
    await stopAll([gateway, market]);
  });

  /** The provider a tick body speaks for, whose API key posts it (a body that names none: a provider of its own). */
  const speaker = (body: string): string => {
    try {
      return (JSON.parse(body) as { providerId?: string }).providerId ?? 'test-http-nobody';
    } catch {
      return 'test-http-nobody';
    }
  };
  const post = async (body: string, key?: TestKey, secret?: string, as: string | null = speaker(body)) =>
    fetch(`${gateway.url}/v1/ticks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(as === null ? {} : await auth('provider', as)),
        ...(key === undefined ? {} : { [KEY_ID_HEADER]: key.keyId, [SIGNATURE_HEADER]: signFeed(body, secret ?? key.secret) }),
      },
      body,
    });
  const marketReader = () => auth('customer', 'market-reader');
  const get = async (path: string) => {
    const res = await fetch(`${gateway.url}${path}`, { headers: await marketReader() });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
  };

  it('accepts a signed tick over HTTP, which market-data stores and quotes like any other', async () => {
    const provider = testProvider('http');
    const key = await feedKey(provider);
    const instrument = `gpu:http-${provider.slice(-8)}`;
    const now = Date.now();
    const body = JSON.stringify(tick(provider, 1, { instrument, energyIncluded: true, price: '1.25', validFrom: new Date(now - 1_000).toISOString(), validUntil: new Date(now + 3_600_000).toISOString() }));
    const res = await post(body, key);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ topic: Topic.SpotPrices, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) });

    const quotes = await waitFor('the quote', async () => {
      const r = await get(`/v1/quotes?instrument=${instrument}`);
      return (r.body['items'] as unknown[]).length === 1 ? r.body : undefined;
    });
    expect(quotes['items']).toEqual([expect.objectContaining({ providerId: provider, effectiveNanoUsd: '1250000000', effectiveUsd: '1.25', energyNanoUsd: '0' })]);
    const instruments = await get('/v1/instruments');
    expect(instruments.body['instruments']).toContainEqual(expect.objectContaining({ instrument, offers: 1, bestEffectiveUsd: '1.25' }));
  });

  it('refuses what it cannot accept with a problem+json 4xx, and publishes nothing', async () => {
    const provider = testProvider('http-bad');
    const key = await feedKey(provider);
    const other = await feedKey(testProvider('http-other'));
    const body = JSON.stringify(tick(provider, 1));
    const cases: [string, Promise<Response>, number][] = [
      ['no API key', post(body, key, undefined, null), 401],
      ["another provider's API key", post(body, key, undefined, 'test-http-someone-else'), 403],
      ['unsigned', post(body), 401],
      ['wrong secret', post(body, key, 'guess'), 401],
      ["another provider's key", post(body, other), 401],
      ['malformed JSON', post('{"providerId":', key), 400],
      ['invalid tick', post(JSON.stringify({ ...tick(provider, 1), price: -1 }), key), 400],
      ['over the tick size limit', post(JSON.stringify({ ...tick(provider, 1), pad: 'x'.repeat(300_000) }), key), 413],
      ['over the body limit', post('x'.repeat(2_000_000), key), 413],
    ];
    for (const [what, pending, status] of cases) {
      const res = await pending;
      expect([what, res.status]).toEqual([what, status]);
      expect([what, res.headers.get('content-type')]).toEqual([what, expect.stringContaining('application/problem+json')]);
      const problem = (await res.json()) as { title: string; status: number; detail: string };
      expect(problem.status).toBe(status);
      expect(problem.detail.length).toBeGreaterThan(0);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await count('SELECT count(*) AS n FROM market.spot_price_ticks WHERE provider_id = $1', [provider])).toBe(0);
  });

  it('answers OHLC per interval from the stored ticks', async () => {
    const provider = testProvider('ohlc');
    const key = await feedKey(provider);
    const instrument = `gpu:ohlc-${provider.slice(-8)}`;
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 5, 10, minute)).toISOString();
    // 10:00–10:59: 2.00, 2.50, 1.50, 2.10; 11:00–: 3.00
    const prices: [number, string][] = [[0, '2.00'], [15, '2.50'], [30, '1.50'], [45, '2.10'], [60, '3.00']];
    for (const [i, [minute, price]] of prices.entries()) {
      const body = JSON.stringify(tick(provider, i + 1, { instrument, price, validFrom: at(minute), validUntil: at(minute + 15), publishedAt: at(minute) }));
      expect((await post(body, key)).status).toBe(202);
    }
    await waitFor('5 ticks', async () => ((await count('SELECT count(*) AS n FROM market.spot_price_ticks WHERE provider_id = $1', [provider])) === 5 ? true : undefined));
    const r = await get(`/v1/instruments/${instrument}/ohlc?from=${at(0)}&to=${at(120)}&interval=1h`);
    expect(r.status).toBe(200);
    expect(r.body['series']).toEqual([
      { region: 'us-east-1', currency: 'USD', start: at(0), open: '2.00', high: '2.50', low: '1.50', close: '2.10', ticks: 4 },
      { region: 'us-east-1', currency: 'USD', start: at(60), open: '3.00', high: '3.00', low: '3.00', close: '3.00', ticks: 1 },
    ]);
    expect((await get(`/v1/instruments/${instrument}/ohlc?from=${at(0)}&to=${at(0)}`)).status).toBe(400);

    // The best effective price over the same hour, recomputed from the ticks and the zone's tariff:
    // the compute price plus 0.7 kWh × the slot in force (0.10 $/kWh, then 0.20 from 11:00).
    const zone = `zone-${provider}`;
    const tariff = { zone, kind: 'day-ahead', currency: 'USD', unit: 'kWh', seq: 1, publishedAt: at(0), slots: [{ start: at(0), end: at(60), price: '0.10' }, { start: at(60), end: at(120), price: '0.20' }] };
    await produce(Topic.EnergyTariffs, [{ key: zone, value: JSON.stringify(tariff) }]);
    for (const [i, [minute, price]] of prices.entries()) {
      const body = JSON.stringify(tick(provider, 10 + i, { instrument, price, gridZone: zone, energyIncluded: false, validFrom: at(minute), validUntil: at(minute + 15), publishedAt: at(minute) }));
      expect((await post(body, key)).status).toBe(202);
    }
    const history = await waitFor('the effective history', async () => {
      const h = await get(`/v1/instruments/${instrument}/effective?from=${at(0)}&to=${at(75)}&interval=15m`);
      const points = h.body['points'] as { at: string; effectiveUsd: string; energyNanoUsd: string }[] | undefined;
      return points?.length === 5 && points.every((p) => p.energyNanoUsd !== '0') ? points : undefined;
    });
    expect(history.map((p) => [p.at, p.effectiveUsd])).toEqual([
      [at(0), '2.07'],
      [at(15), '2.57'],
      [at(30), '1.57'],
      [at(45), '2.17'],
      [at(60), '3.14'],
    ]);
    expect((await get(`/v1/instruments/${instrument}/effective?from=${at(0)}&to=${at(60 * 24 * 30)}&interval=1m`)).status).toBe(400);
    expect((await get(`/v1/instruments/${instrument}/ohlc?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`)).status).toBe(400);
    expect((await get(`/v1/instruments/${instrument}/ohlc?from=${at(0)}&to=${at(60)}&interval=7m`)).status).toBe(400);
  });

  it('pages through tariff history with a cursor, and shows the forward curve', async () => {
    const zone = `zone-${testProvider('tariff')}`;
    const base = Math.floor(Date.now() / 1_800_000) * 1_800_000;
    const slots = Array.from({ length: 5 }, (_, i) => ({ start: new Date(base + i * 1_800_000).toISOString(), end: new Date(base + (i + 1) * 1_800_000).toISOString(), price: `${i - 1}.5` }));
    await produce(Topic.EnergyTariffs, [{ key: zone, value: JSON.stringify({ zone, kind: 'day-ahead', currency: 'EUR', unit: 'MWh', slots, seq: 1, publishedAt: new Date().toISOString() }) }]);
    const range = `from=${new Date(base).toISOString()}&to=${new Date(base + 5 * 1_800_000).toISOString()}`;
    await waitFor('slots stored', async () => ((await get(`/v1/zones/${zone}/tariffs?${range}`)).body['items'] as unknown[]).length === 5 ? true : undefined);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Record<string, unknown> } = await get(`/v1/zones/${zone}/tariffs?${range}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...(page.body['items'] as { price: string }[]).map((s) => s.price));
      cursor = page.body['nextCursor'] as string | null;
    } while (cursor !== null);
    expect(seen).toEqual(['-1.5', '0.5', '1.5', '2.5', '3.5']);
    const forward = await get(`/v1/zones/${zone}/forward?hours=3`);
    expect((forward.body['slots'] as { price: string }[]).map((s) => s.price)).toEqual(['-1.5', '0.5', '1.5', '2.5', '3.5'].slice(0, 5));
    expect((await get(`/v1/zones/${zone}/tariffs?${range}&cursor=bogus`)).status).toBe(400);
  });

  it('streams a snapshot, then each quote change, as server-sent events', async () => {
    const provider = testProvider('sse');
    const key = await feedKey(provider);
    const instrument = `gpu:sse-${provider.slice(-8)}`;
    const now = Date.now();
    const t = (seq: number, price: string) =>
      JSON.stringify(tick(provider, seq, { instrument, price, energyIncluded: true, validFrom: new Date(now - 1_000).toISOString(), validUntil: new Date(now + 3_600_000).toISOString() }));
    expect((await post(t(1, '1.00'), key)).status).toBe(202);
    await waitFor('first quote', async () => ((await get(`/v1/quotes?instrument=${instrument}`)).body['items'] as unknown[]).length === 1 ? true : undefined);

    const controller = new AbortController();
    expect((await fetch(`${gateway.url}/v1/stream/quotes?instrument=${instrument}`)).status).toBe(401);
    const res = await fetch(`${gateway.url}/v1/stream/quotes?instrument=${instrument}`, { signal: controller.signal, headers: await marketReader() });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${text}`)), Math.max(0, deadline - Date.now()));
        });
        const { value, done } = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += Buffer.from(value).toString();
      }
    };
    await until(/event: snapshot\n(id: [^\n]*\n)?data: (.+)\n/);
    expect(text).toContain('"effectiveUsd":"1"');
    expect((await post(t(2, '0.75'), key)).status).toBe(202);
    await until(/event: quote\nid: [^\n]+\ndata: .*"effectiveNanoUsd":"750000000"/);
    controller.abort();
    expect((await fetch(`${gateway.url}/v1/stream/quotes?instrument=nope`, { headers: await marketReader() })).status).toBe(400);
  });
});
