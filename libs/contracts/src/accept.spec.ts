import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import { compileAcceptor, withFastPath } from './accept.js';
import { allocationSchema, jobEventSchema, usageMeteredSchema } from './jobs.js';
import { energyTariffSchema, fxRateSchema, quoteSchema, spotPriceTickSchema } from './market.js';
import { validTick } from './market.spec.js';

/** A value as JSON with sorted keys (undefined-valued keys dropped, as JSON does). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** What the fast path must say: yes exactly when zod parses the value into an equal value. */
function zodKeepsAsIs(schema: z.ZodType, v: unknown): boolean {
  const r = schema.safeParse(v);
  return r.success && canonical(r.data) === canonical(v);
}

const samples: [string, z.ZodType, unknown][] = [
  ['spot-price tick', spotPriceTickSchema, validTick],
  [
    'energy tariff',
    energyTariffSchema,
    {
      zone: 'GB-A',
      kind: 'day-ahead',
      currency: 'GBX',
      unit: 'kWh',
      slots: [
        { start: '2026-11-26T00:00:00Z', end: '2026-11-26T00:30:00Z', price: '-1.05' },
        { start: '2026-11-26T00:30:00Z', end: '2026-11-26T01:00:00Z', price: '12.5' },
      ],
      seq: 3,
      publishedAt: '2026-11-25T16:00:00.000Z',
    },
  ],
  ['FX rate', fxRateSchema, { base: 'EUR', quote: 'USD', rate: '1.0842', asOf: '2026-11-26T10:00:00Z' }],
  [
    'usage',
    usageMeteredSchema,
    {
      usageId: 'u-1',
      allocationId: 'a-1',
      jobId: '9b15dc96-82b9-4507-8664-600dcb898f11',
      customerId: 'cust-1',
      providerId: 'acme',
      instrument: 'gpu:h100',
      inputTokens: null,
      outputTokens: null,
      gpuSeconds: '3600',
      energyKwh: '0.7',
      startedAt: '2026-11-26T10:00:00Z',
      endedAt: '2026-11-26T11:00:00Z',
    },
  ],
  [
    'allocation',
    allocationSchema,
    {
      allocationId: '9b15dc96-82b9-4507-8664-600dcb898f11.1',
      jobId: '9b15dc96-82b9-4507-8664-600dcb898f11',
      customerId: 'cust-1',
      providerId: 'acme',
      offerId: 'h100-use1',
      instrument: 'gpu:h100',
      region: 'us-east-1',
      gridZone: 'PJM',
      quantity: '1.5',
      computeNanoUsd: '2490000000',
      energyNanoUsd: '-12000000',
      effectiveNanoUsd: '2478000000',
      amountNanoUsd: '3717000000',
      feeNanoUsd: '74340000',
      matchedAt: '2026-11-26T10:00:00.000Z',
    },
  ],
  [
    'job event',
    jobEventSchema,
    {
      eventId: 'e-1',
      jobId: '9b15dc96-82b9-4507-8664-600dcb898f11',
      customerId: 'cust-1',
      type: 'deferred',
      status: 'deferred',
      reason: null,
      quantity: '2',
      filledQuantity: '0',
      allocationIds: [],
      until: '2026-11-26T12:00:00Z',
      at: '2026-11-26T10:00:00Z',
    },
  ],
];

/** Every path to a value inside `v` (object keys and array indices), the root excluded. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
}

type Edit = { readonly at: number; readonly op: 'set' | 'delete' | 'add'; readonly value: unknown; readonly key: string };

function applyEdits(sample: unknown, edits: readonly Edit[]): unknown {
  const v = structuredClone(sample) as Record<string | number, unknown>;
  for (const e of edits) {
    const all = paths(v);
    if (all.length === 0) break;
    const path = all[e.at % all.length] as (string | number)[];
    let parent = v as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    // A copy: later edits may reach inside it, and fast-check keeps the original for shrinking.
    const value = structuredClone(e.value);
    if (e.op === 'set') parent[last] = value;
    else if (e.op === 'delete') delete parent[last];
    else {
      const target = parent[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[e.key] = value;
      else if (!Array.isArray(parent)) parent[e.key] = value;
    }
  }
  return v;
}

/** Values near the contracts' edges, besides arbitrary JSON. */
const edgy = fc.constantFrom<unknown>(
  '',
  '0',
  '-0',
  '01',
  '1.',
  '1.5',
  '-1.05',
  '1e3',
  ' 1',
  'USD',
  'usd',
  'GBX',
  'gpu:h100',
  'model:x',
  'tpu:v5',
  'a'.repeat(128),
  'a'.repeat(129),
  '9'.repeat(41),
  '2026-02-29T00:00:00Z',
  '2028-02-29T00:00:00Z',
  '2026-11-26T10:00:00+01:00',
  '2026-11-26T10:00:00',
  '2026-11-26T09:00:00Z',
  '2026-11-26T12:00:00.5Z',
  '9b15dc96-82b9-4507-8664-600dcb898f11',
  'spot',
  'on-demand',
  'MWh',
  'retail',
  1.5,
  -1,
  0,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  null,
  undefined,
  [],
  {},
);
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Edit['op']>('set', 'set', 'delete', 'add'),
  value: fc.oneof(edgy, fc.jsonValue({ maxDepth: 2 }), fc.string()),
  key: fc.constantFrom('surprise', 'price', 'seq', '__proto__', 'constructor'),
});

describe('the compiled fast path in front of a schema', () => {
  it.each(samples)('compiles the %s contract, and takes its valid messages as they are', (_, schema, sample) => {
    const accept = compileAcceptor(schema);
    expect(accept).toBeDefined();
    expect(zodKeepsAsIs(schema, sample)).toBe(true);
    expect(accept?.(sample)).toBe(true);
  });

  it.each(samples)('agrees with zod on the %s contract under random edits: yes exactly when zod keeps the value as it is', (_, schema, sample) => {
    const accept = compileAcceptor(schema) as (v: unknown) => boolean;
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 3 }), (edits) => {
        const v = applyEdits(sample, edits);
        expect(accept(v)).toBe(zodKeepsAsIs(schema, v));
      }),
      { numRuns: 1_500 },
    );
  });

  it('agrees on the quote contract for arbitrary values too', () => {
    const accept = compileAcceptor(quoteSchema);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (v) => {
        if (accept !== undefined) expect(accept(v)).toBe(zodKeepsAsIs(quoteSchema, v));
      }),
    );
  });

  it('leaves to zod what it does not compile, and what zod would change', () => {
    expect(compileAcceptor(z.string().trim())).toBeUndefined();
    expect(compileAcceptor(z.string().default('x'))).toBeUndefined();
    expect(compileAcceptor(z.string().transform((s) => s.length))).toBeUndefined();
    expect(compileAcceptor(z.email())).toBeUndefined();
    expect(compileAcceptor(z.coerce.number())).toBeUndefined();
    expect(compileAcceptor(z.string().superRefine(() => undefined))).toBeUndefined();
    // A plain object strips unknown keys: zod's to do, so such a value is not accepted as it is.
    const plain = z.object({ a: z.string() });
    const accept = compileAcceptor(plain);
    expect(accept?.({ a: 'x' })).toBe(true);
    expect(accept?.({ a: 'x', b: 1 })).toBe(false);
    expect(withFastPath(plain).safeParse({ a: 'x', b: 1 })).toEqual({ success: true, data: { a: 'x' } });
  });

  it('gives zod’s own error for what it refuses', () => {
    const parsed = withFastPath(spotPriceTickSchema).safeParse({ ...validTick, price: 2.49 });
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues[0]?.path).toEqual(['price']);
  });

  it('runs a refinement only on a value that passed the rest, and only as zod would', () => {
    const tick = withFastPath(spotPriceTickSchema);
    expect(tick.safeParse({ ...validTick, validUntil: validTick.validFrom }).success).toBe(false);
    const asyncRefined = z.string().refine(async () => true);
    expect(compileAcceptor(asyncRefined)?.('x')).toBe(false);
  });
});
