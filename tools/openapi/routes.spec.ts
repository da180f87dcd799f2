import type { z } from 'zod';
import { gatewayApiDocument } from '../../apps/gateway/src/docs/api-document.js';
import { allRoutes } from './routes.js';

const routes = allRoutes();
const name = (r: (typeof routes)[number]) => `${r.app} ${r.route.method} ${r.route.path}`;
/** Infrastructure and files: probes, metrics, the API description, the dashboard's page and assets. */
const INFRA = /^\/(health|ready|metrics|docs|app)(\/|$)|^\/$/;

describe('the route table', () => {
  it('finds every service’s routes', () => {
    expect(routes.length).toBeGreaterThan(40);
    for (const app of ['gateway', 'market-data', 'matching-engine', 'dispatcher', 'billing']) {
      expect(routes.filter((r) => r.app === app).map((r) => r.route.path)).toEqual(expect.arrayContaining(['/health', '/ready', '/metrics']));
    }
  });

  it('gives every route of every service an explicit access policy', () => {
    expect(routes.filter((r) => r.route.policy === undefined).map(name)).toEqual([]);
  });

  it('keeps people off billing: its routes are for Spotgrid services only', () => {
    expect(routes.filter((r) => r.app === 'billing' && !INFRA.test(r.route.path) && r.route.policy?.kind !== 'service').map(name)).toEqual([]);
  });

  it('opens nothing to the public but probes, metrics, the API description and the dashboard’s files', () => {
    expect(routes.filter((r) => r.route.policy?.kind === 'public' && !INFRA.test(r.route.path)).map(name)).toEqual([]);
  });
});

describe('the API description', () => {
  const gateway = routes.filter((r) => r.app === 'gateway' && !INFRA.test(r.route.path)).map((r) => r.route);
  const doc = gatewayApiDocument() as { paths: Record<string, Record<string, { operationId: string; 'x-roles'?: string[] }>> };

  it('documents every gateway operation, and only those', () => {
    expect(gateway.filter((r) => r.doc === undefined).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(documented).toEqual(gateway.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`).sort());
  });

  it('names each path parameter in its schema, and no other', () => {
    for (const r of gateway) {
      const inPath = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]).sort();
      expect([`${r.method} ${r.path}`, Object.keys(r.doc?.params ?? {}).sort()]).toEqual([`${r.method} ${r.path}`, inPath]);
    }
  });

  it('shows an example of every request body that the operation itself accepts', () => {
    for (const r of gateway.filter((g) => g.doc?.body !== undefined)) {
      const parsed = (r.doc?.body as z.ZodType).safeParse(r.doc?.requestExample);
      expect([`${r.method} ${r.path}`, parsed.success ? 'valid' : parsed.error.message]).toEqual([`${r.method} ${r.path}`, 'valid']);
    }
  });

  it('shows an example of every answer, and the roles of every operation', () => {
    expect(gateway.filter((r) => r.doc?.responseExample === undefined && r.doc?.status !== 204).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) expect(op['x-roles']?.length ?? 0).toBeGreaterThan(0);
  });
});
