import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { KEY_ID_HEADER, SIGNATURE_HEADER, signFeed } from '#contracts';
import { loadConfig } from '#platform';
import { ROLES, type Role, type Route } from '#runtime';
import { allRoutes } from '../tools/openapi/routes.js';
import { auth, serviceAuth } from './support/auth.js';
import { sql } from './support/db.js';
import { ServiceProcess, startAll, stopAll } from './support/services.js';
import { tick } from './support/ticks.js';
import { waitFor } from './support/wait.js';

jest.setTimeout(300_000);

type Caller = Role | 'anonymous';
const CALLERS: readonly Caller[] = ['anonymous', ...ROLES];
const ADMIN = { authorization: `Bearer ${loadConfig().BOOTSTRAP_ADMIN_KEY ?? ''}` };
const INFRA = /^\/(health|ready|metrics|docs|app)(\/|$)|^\/$/;

/** A value for each path parameter: well-formed where that matters, naming nothing that exists. */
function samplePath(route: Route): string {
  return route.path.replace(/[:*]([A-Za-z0-9_]+)/g, (_, name: string) => {
    if (route.path.startsWith('/v1/jobs')) return randomUUID();
    if (route.path.includes('invoices')) return encodeURIComponent('inv:nobody:2020-01');
    if (name === 'instrument') return 'gpu:h100';
    if (name === 'keyId') return 'fk0000000000';
    return 'nobody';
  });
}

/** Calls a route and gives its status; a stream's status is all there is to read. */
async function call(base: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...init.headers }, body: init.body, signal: controller.signal });
  if (res.headers.get('content-type')?.includes('text/event-stream') === true) controller.abort();
  else await res.arrayBuffer();
  return res.status;
}

/**
 * Every row of the gateway's and billing's tables, as one digest: equal digests, nothing changed.
 * Left out: the Kafka inbox and outbox, and invoices, which billing's own sweep closes on its clock.
 */
async function fingerprint(): Promise<string> {
  const tables = await sql<{ t: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname IN ('gateway', 'billing') AND tablename NOT IN ('inbox', 'outbox')
        AND tablename NOT LIKE 'invoice%' ORDER BY 1`,
  );
  const parts = await Promise.all(tables.map(async ({ t }) => (await sql<{ h: string | null }>(`SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM ${t} x`))[0]?.h ?? '-'));
  return tables.map(({ t }, i) => `${t}:${parts[i]}`).join(' ');
}

describe('access control: keys, roles, tenants, limits, audit', () => {
  const billing = new ServiceProcess('billing');
  // The matrix calls every route anonymously in a burst: this gateway lets the refusals through as 401s.
  const gateway = new ServiceProcess('gateway', { BILLING_URL: billing.url, RATE_LIMIT_PER_SECOND: '100000', AUTH_FAILURES_PER_SECOND: '100000' });
  // A second gateway with tight limits, for the rate-limit tests.
  const limited = new ServiceProcess('gateway', { BILLING_URL: billing.url, RATE_LIMIT_PER_SECOND: '5', AUTH_FAILURES_PER_SECOND: '3' }, 3110);
  const routes = allRoutes();
  const gatewayRoutes = routes.filter((r) => r.app === 'gateway').map((r) => r.route);

  beforeAll(async () => {
    await startAll([billing, gateway, limited]);
  });

  afterAll(async () => {
    await stopAll([gateway, limited, billing]);
  });

  it('holds the role × route matrix generated from the route table', async () => {
    const seen: string[] = [];
    for (const [i, route] of gatewayRoutes.entries()) {
      const policy = route.policy;
      expect([route.path, policy]).toEqual([route.path, expect.anything()]);
      if (policy === undefined) continue;
      for (const caller of CALLERS) {
        // A principal of its own per route, so a route that changes keys (rotation) cannot disturb the next.
        const headers = caller === 'anonymous' ? {} : await auth(caller, `matrix-${caller}-${i}`);
        const status = await call(gateway.url, route.method, samplePath(route), { headers, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }) });
        const expected =
          policy.kind === 'public' ? 'allowed' : caller === 'anonymous' || policy.kind === 'service' ? 401 : policy.roles.includes(caller) ? 'allowed' : 403;
        const got = expected === 'allowed' ? (status === 401 || status === 403 || status >= 500 ? status : 'allowed') : status;
        seen.push(`${route.method} ${route.path} ${caller}`);
        expect(`${route.method} ${route.path} as ${caller}: ${String(got)}`).toBe(`${route.method} ${route.path} as ${caller}: ${String(expected)}`);
      }
    }
    expect(seen.length).toBe(gatewayRoutes.length * CALLERS.length);
  });

  it("answers billing's internal routes only with the service token, never with a principal's key", async () => {
    const internal = routes.filter((r) => r.app === 'billing' && !INFRA.test(r.route.path)).map((r) => r.route);
    expect(internal.length).toBeGreaterThan(5);
    for (const route of internal) {
      const path = samplePath(route);
      const body = route.method === 'GET' ? {} : { body: '{}' };
      expect([path, await call(billing.url, route.method, path, body)]).toEqual([path, 401]);
      expect([path, await call(billing.url, route.method, path, { headers: ADMIN, ...body })]).toEqual([path, 401]);
      const status = await call(billing.url, route.method, path, { headers: serviceAuth(), ...body });
      expect([path, status < 500 && status !== 401 && status !== 403]).toEqual([path, true]);
    }
  });

  it('never answers fuzzed paths, queries, bodies and headers with a 5xx, and changes nothing', async () => {
    for (const role of ROLES) await auth(role, `fuzz-${role}`);
    const before = await fingerprint();
    const documented = gatewayRoutes.filter((r) => r.doc !== undefined && r.policy?.kind === 'roles');
    const junk = fc.string({ maxLength: 40 });
    // Every case is invalid by construction: an unknown query parameter, or a body no strict schema takes.
    const bodies = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((o) => JSON.stringify({ ...o, fz_unknown: true })),
      fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
      // Text that is not a JSON object (an empty body is no body: an operation may take that).
      fc.string({ minLength: 1, maxLength: 200 }).filter((t) => {
        try {
          const v: unknown = JSON.parse(t);
          return typeof v !== 'object' || v === null || Array.isArray(v);
        } catch {
          return t.trim().length > 0;
        }
      }),
    );
    const cases = fc.record({
      route: fc.constantFrom(...documented),
      params: fc.array(junk.filter((s) => s.length > 0), { minLength: 3, maxLength: 3 }),
      query: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), junk, { maxKeys: 3 }),
      body: fc.option(bodies, { nil: undefined }),
      headers: fc.dictionary(fc.stringMatching(/^x-fz-[a-z]{1,8}$/), fc.stringMatching(/^[\x20-\x7e]{0,40}$/), { maxKeys: 3 }),
      idempotencyKey: fc.option(fc.stringMatching(/^[\x20-\x7e]{0,300}$/), { nil: undefined }),
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
    });
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const policy = c.route.policy as Extract<Route['policy'], { kind: 'roles' }>;
        const role = policy.roles[0] as Role;
        let n = 0;
        const path = c.route.path.replace(/:([A-Za-z0-9_]+)/g, () => encodeURIComponent(c.params[n++ % 3] as string));
        // An unknown parameter always, so that no case is a valid request (which may rightly change things).
        const query = new URLSearchParams({ ...c.query, fz_unknown: '1' }).toString();
        const needsBody = c.route.method === 'POST' || c.route.method === 'PUT';
        const status = await call(gateway.url, c.route.method, `${path}?${query}`, {
          headers: { ...(await auth(role, `fuzz-${role}`)), ...c.headers, 'content-type': c.contentType, ...(c.idempotencyKey === undefined ? {} : { 'idempotency-key': c.idempotencyKey }) },
          ...(needsBody && c.body !== undefined ? { body: c.body } : {}),
        });
        calls += 1;
        return status >= 400 && status < 500;
      }),
      { numRuns: 600, seed: 20261127 },
    );
    expect(calls).toBeGreaterThanOrEqual(600);
    // And with valid queries but bodies no schema accepts, on every operation that takes a body.
    const withBody = documented.filter((r) => r.doc?.body !== undefined);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...withBody), bodies, async (route, body) => {
        const role = (route.policy as Extract<Route['policy'], { kind: 'roles' }>).roles[0] as Role;
        const status = await call(gateway.url, route.method, samplePath(route), { headers: { ...(await auth(role, `fuzz-${role}`)), 'idempotency-key': randomUUID() }, body });
        return status >= 400 && status < 500;
      }),
      { numRuns: 300, seed: 11272026 },
    );
    // Billing's internal routes, with the service token, and the public ones: junk in, no 5xx, nothing changed.
    const others = [
      ...routes.filter((r) => r.app === 'billing' && !INFRA.test(r.route.path)).map((r) => ({ base: billing.url, route: r.route, headers: serviceAuth() })),
      ...gatewayRoutes.filter((r) => r.policy?.kind === 'public' && /[:*]/.test(r.path)).map((route) => ({ base: gateway.url, route, headers: {} })),
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...others), junk.filter((j) => j.length > 0), bodies, async (target, param, body) => {
        const path = target.route.path.replace(/[:*]([A-Za-z0-9_]+)/g, () => encodeURIComponent(param));
        const status = await call(target.base, target.route.method, `${path}?fz_unknown=1`, { headers: target.headers, ...(target.route.method === 'GET' ? {} : { body }) });
        // Internal routes ignore a query they do not read, and a balance read of any id is a read: no 5xx is the rule here.
        return status < 500;
      }),
      { numRuns: 200, seed: 27112026 },
    );
    expect(await fingerprint()).toBe(before);
  });

  it('issues keys once, rotates them with a grace period, revokes them and disables principals', async () => {
    const id = `cust-${randomUUID().slice(0, 8)}`;
    const created = await fetch(`${gateway.url}/v1/admin/principals`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ id, role: 'customer', name: 'Access Test Ltd' }) });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: { keyId: string; token: string } };
    const me = (token: string) => fetch(`${gateway.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me(key.token)).status).toBe(200);
    const listed = (await (await fetch(`${gateway.url}/v1/admin/principals/${id}`, { headers: ADMIN })).json()) as { keys: Record<string, unknown>[] };
    // Shown once: the key itself is never listed, and the database holds only its digest.
    expect(JSON.stringify(listed)).not.toContain(key.token);
    const [stored] = await sql<{ digest: Buffer }>(`SELECT digest FROM gateway.api_keys WHERE key_id = $1`, [key.keyId]);
    expect(stored?.digest.toString('hex')).toHaveLength(64);
    expect(stored?.digest.toString()).not.toContain(key.token.slice(-20));
    expect((await fetch(`${gateway.url}/v1/admin/principals`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ id, role: 'finance', name: 'again' }) })).status).toBe(409);

    // Self-service rotation with a grace period: both keys work until it ends.
    const rotated = await fetch(`${gateway.url}/v1/me/key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ graceSeconds: 2 }) });
    expect(rotated.status).toBe(201);
    const next = ((await rotated.json()) as { key: { keyId: string; token: string } }).key;
    expect((await me(key.token)).status).toBe(200);
    expect((await me(next.token)).status).toBe(200);
    await waitFor('the old key to stop', async () => ((await me(key.token)).status === 401 ? true : undefined), 10_000, 250);
    expect((await me(next.token)).status).toBe(200);

    // Revoked now; then the principal disabled: every key stops.
    const third = (await (await fetch(`${gateway.url}/v1/admin/principals/${id}/keys`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ label: 'ci' }) })).json()) as { keyId: string; token: string };
    expect((await fetch(`${gateway.url}/v1/admin/principals/${id}/keys/${next.keyId}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    await waitFor('the revoked key to stop', async () => ((await me(next.token)).status === 401 ? true : undefined), 5_000, 100);
    expect((await me(third.token)).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/admin/principals/${id}`, { method: 'DELETE', headers: ADMIN })).status).toBe(200);
    await waitFor('the disabled principal to stop', async () => ((await me(third.token)).status === 401 ? true : undefined), 5_000, 100);
    // A wrong secret behind a real key id is refused like an unknown key.
    expect((await me(`sgk_${third.keyId}_${'A'.repeat(43)}`)).status).toBe(401);
    expect((await me('not-a-key')).status).toBe(401);

    // Each privileged action is in the audit log: who, what, when, from where.
    const audit = (await (await fetch(`${gateway.url}/v1/admin/audit?principal=admin&limit=50`, { headers: ADMIN })).json()) as { items: { action: string; path: string; ip: string; status: number; at: string; keyId: string }[] };
    const mine = audit.items.filter((e) => e.path.includes(id));
    expect(mine.map((e) => e.action).sort()).toEqual(['key.issue', 'key.revoke', 'principal.disable']);
    expect(mine.every((e) => e.ip.length > 0 && (e.status === 200 || e.status === 201))).toBe(true);
    const own = (await (await fetch(`${gateway.url}/v1/admin/audit?principal=${id}`, { headers: ADMIN })).json()) as { items: { action: string; detail: Record<string, unknown> }[] };
    expect(own.items.map((e) => e.action)).toEqual(['key.rotate-own']);
    expect(JSON.stringify(own.items)).not.toContain(next.token);
    await expect(sql(`UPDATE gateway.audit_log SET action = 'nothing'`)).rejects.toThrow(/append-only/);
  });

  it('issues a provider its feed keys: the secret signs ticks until the key is revoked', async () => {
    const provider = `prov-${randomUUID().slice(0, 8)}`;
    const providerKey = await auth('provider', provider);
    const issued = await fetch(`${gateway.url}/v1/admin/providers/${provider}/feed-keys`, { method: 'POST', headers: ADMIN });
    expect(issued.status).toBe(201);
    const feedKey = (await issued.json()) as { keyId: string; secret: string };
    const [row] = await sql<Record<string, unknown>>(`SELECT * FROM gateway.feed_keys WHERE key_id = $1`, [feedKey.keyId]);
    // Nothing secret is stored: the secret is derived from the key id with FEED_SECRETS_KEY.
    expect(Object.keys(row ?? {}).sort()).toEqual(['created_at', 'key_id', 'provider_id', 'revoked_at']);
    const now = Date.now();
    const post = async (seq: number) => {
      const body = JSON.stringify(tick(provider, seq, { validFrom: new Date(now).toISOString(), validUntil: new Date(now + 3_600_000).toISOString() }));
      return fetch(`${gateway.url}/v1/ticks`, { method: 'POST', headers: { ...providerKey, 'content-type': 'application/json', [KEY_ID_HEADER]: feedKey.keyId, [SIGNATURE_HEADER]: signFeed(body, feedKey.secret) }, body });
    };
    expect((await post(1)).status).toBe(202);
    const listed = (await (await fetch(`${gateway.url}/v1/provider/feed-keys`, { headers: providerKey })).json()) as { items: { keyId: string }[] };
    expect(listed.items.map((k) => k.keyId)).toEqual([feedKey.keyId]);
    expect(JSON.stringify(listed)).not.toContain(feedKey.secret);
    // Another provider cannot see or revoke it.
    const other = await auth('provider', `prov-other-${randomUUID().slice(0, 8)}`);
    expect((await fetch(`${gateway.url}/v1/provider/feed-keys/${feedKey.keyId}`, { method: 'DELETE', headers: other })).status).toBe(404);
    expect((await post(2)).status).toBe(202);
    expect((await fetch(`${gateway.url}/v1/provider/feed-keys/${feedKey.keyId}`, { method: 'DELETE', headers: providerKey })).status).toBe(200);
    expect((await post(3)).status).toBe(401);
    // Feed keys go only to providers.
    expect((await fetch(`${gateway.url}/v1/admin/providers/admin/feed-keys`, { method: 'POST', headers: ADMIN })).status).toBe(404);
  });

  it("keeps each tenant to its own bills and payouts, and finance to reading and funding", async () => {
    const acme = `cust-${randomUUID().slice(0, 8)}`;
    const globex = `cust-${randomUUID().slice(0, 8)}`;
    const finance = await auth('finance', `finance-${randomUUID().slice(0, 8)}`);
    const get = async (path: string, headers: Record<string, string>) => {
      const res = await fetch(`${gateway.url}${path}`, { headers });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
    };
    const topUp = (customer: string, headers: Record<string, string>, reference = randomUUID()) =>
      fetch(`${gateway.url}/v1/finance/customers/${customer}/top-ups`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ amount: '250', reference }) });

    expect((await topUp(acme, finance)).status).toBe(201);
    expect((await topUp(globex, finance)).status).toBe(201);
    // Customers and providers cannot move money; finance cannot change credit limits or close invoices.
    expect((await topUp(acme, await auth('customer', acme))).status).toBe(403);
    expect((await topUp(acme, await auth('provider', `prov-${acme}`))).status).toBe(403);
    const limit = await fetch(`${gateway.url}/v1/admin/customers/${acme}/credit-limit`, { method: 'PUT', headers: { ...finance, 'content-type': 'application/json' }, body: JSON.stringify({ limit: '100' }) });
    expect(limit.status).toBe(403);
    const byAdmin = await fetch(`${gateway.url}/v1/admin/customers/${acme}/credit-limit`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ limit: '100' }) });
    expect(byAdmin.status).toBe(200);

    const own = await get(`/v1/finance/customers/${acme}/balance`, await auth('customer', acme));
    expect(own).toEqual({ status: 200, body: expect.objectContaining({ customerId: acme, balance: '250', creditLimitNanoUsd: '100000000000' }) });
    // Another customer's balance, entries or invoices: not found, as if it did not exist.
    const intruder = await auth('customer', globex);
    expect((await get(`/v1/finance/customers/${acme}/balance`, intruder)).status).toBe(404);
    expect((await get(`/v1/finance/entries?customer=${acme}`, intruder)).status).toBe(404);
    expect((await get(`/v1/finance/entries?account=customer:${acme}`, intruder)).status).toBe(404);
    expect((await get(`/v1/finance/invoices?customer=${acme}`, intruder)).status).toBe(404);
    expect((await get(`/v1/finance/balances?customer=${acme}`, intruder)).status).toBe(404);
    // Unfiltered, a customer sees its own account only; finance sees both.
    const mine = await get('/v1/finance/entries', intruder);
    expect((mine.body?.['items'] as { account: string }[]).map((e) => e.account)).toEqual([`customer:${globex}`]);
    const all = await get(`/v1/finance/balances`, finance);
    const accounts = (all.body?.['items'] as { account: string }[]).map((b) => b.account);
    expect(accounts).toEqual(expect.arrayContaining([`customer:${acme}`, `customer:${globex}`]));
    expect((await get('/v1/finance/reconciliation', intruder)).status).toBe(403);
    expect((await get('/v1/finance/reconciliation', finance)).status).toBe(200);
    // A provider reads its own statement without naming itself, and no one else's.
    const provider = await auth('provider', `prov-${globex}`);
    expect((await get('/v1/finance/statements?period=2026-11', provider)).body).toEqual(expect.objectContaining({ providerId: `prov-${globex}` }));
    expect((await get('/v1/finance/statements?period=2026-11&provider=someone-else', provider)).status).toBe(404);
    expect((await get('/v1/finance/statements?period=2026-11', finance)).status).toBe(400);
  });

  it('limits each key to its requests per second, with Retry-After, and other keys keep going', async () => {
    const busy = await auth('customer', `busy-${randomUUID().slice(0, 8)}`);
    const calm = await auth('customer', `calm-${randomUUID().slice(0, 8)}`);
    // The window is one second: start at the beginning of one, so all 12 land in the same window.
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000)));
    const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(`${limited.url}/v1/me`, { headers: busy })));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const refused = answers.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${limited.url}/v1/me`, { headers: calm })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await fetch(`${limited.url}/v1/me`, { headers: busy })).status).toBe(200);
  });

  it('answers an address that keeps failing to authenticate with 429s, for the rest of the second', async () => {
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000)));
    const guesses = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${limited.url}/v1/me`, { headers: { authorization: `Bearer sgk_guess000${i}_${'x'.repeat(43)}` } })));
    const statuses = guesses.map((r) => r.status).sort();
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
    expect(guesses.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await fetch(`${limited.url}/v1/me`)).status).toBe(401);
  });

  it('serves its API description at /docs, generated from the code', async () => {
    const page = await fetch(`${gateway.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/docs/openapi.json');
    const doc = (await (await fetch(`${gateway.url}/docs/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(operations).toBe(gatewayRoutes.filter((r) => !INFRA.test(r.path)).length);
    expect((await fetch(`${gateway.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });
});
