import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { loadConfig } from '#platform';
import { boolArray, byteaArray, int8Array, textArray } from './pg-arrays.js';

/** Each array goes to the real server as a binary parameter and comes back as text: what it read. */
describe('binary arrays on the real database', () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: loadConfig().DATABASE_URL, application_name: 'pg-arrays-int-spec' });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  const readBack = async (type: string, array: Buffer): Promise<unknown[]> => {
    const { rows } = await client.query<{ v: unknown }>(`SELECT u.v FROM unnest($1::${type}) WITH ORDINALITY AS u(v, n) ORDER BY n`, [array]);
    return rows.map((r) => r.v);
  };

  it('text[]: every string as it was, multi-byte characters, quotes and empty strings included, and NULLs', async () => {
    const values = ['plain', '', 'é€😀', 'a "quoted" \\ back,slash {x}', 'x'.repeat(10_000), null, undefined, 'NULL'];
    expect(await readBack('text[]', textArray(values))).toEqual(values.map((v) => v ?? null));
  });

  it('text[] of ASCII (one latin1 string) and of lengths whose bytes are 128 or more (written per value) read the same', async () => {
    const ascii = ['abc', 'x'.repeat(127), 'y'.repeat(300), '2026-11-28T10:00:00.000Z'];
    expect(await readBack('text[]', textArray(ascii))).toEqual(ascii);
    const long = ['z'.repeat(128), 'w'.repeat(200), '', 'q'];
    expect(await readBack('text[]', textArray(long))).toEqual(long);
    expect(await readBack('text[]', textArray(['ascii', 'ÿ', 'ascii']))).toEqual(['ascii', 'ÿ', 'ascii']);
  });

  it('text[] read as another type through a cast', async () => {
    const { rows } = await client.query<{ n: string; t: Date; j: object }>('SELECT n::numeric::text AS n, t::timestamptz AS t, j::jsonb AS j FROM unnest($1::text[], $2::text[], $3::text[]) AS u(n, t, j)', [
      textArray(['-1.000000001']),
      textArray(['2026-11-28T10:00:00.123Z']),
      textArray(['{"a":[1,"b"]}']),
    ]);
    expect(rows).toEqual([{ n: '-1.000000001', t: new Date('2026-11-28T10:00:00.123Z'), j: { a: [1, 'b'] } }]);
  });

  it('int8[]: zero, negatives, both words, the safe limits, and NULLs', async () => {
    const values = [0, 1, -1, 4_294_967_295, 4_294_967_296, -4_294_967_297, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null];
    expect(await readBack('int8[]', int8Array(values))).toEqual(values.map((v) => (v === null ? null : String(v))));
    expect(() => int8Array([2 ** 53])).toThrow(RangeError);
    expect(() => int8Array([1.5])).toThrow(RangeError);
  });

  it('bool[] and bytea[]', async () => {
    expect(await readBack('bool[]', boolArray([true, false, true]))).toEqual([true, false, true]);
    const bytes = [Buffer.from('{"k":"v"}'), Buffer.alloc(0), Buffer.from([0, 255, 92, 39])];
    expect(await readBack('bytea[]', byteaArray(bytes))).toEqual(bytes);
  });

  it('empty arrays', async () => {
    expect(await readBack('text[]', textArray([]))).toEqual([]);
    expect(await readBack('int8[]', int8Array([]))).toEqual([]);
    expect(await readBack('bytea[]', byteaArray([]))).toEqual([]);
  });
});
