import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { loadConfig } from '#platform';
import { createDataSource } from './data-source.js';
import { MAX_PREPARED_PER_CONNECTION, statementName } from './prepared.js';

/** The statements prepared on the connection that runs this query (one connection: poolSize 1). */
async function preparedNames(db: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await db.query('SELECT name FROM pg_prepared_statements ORDER BY name');
  return rows.map((r) => r.name);
}

describe('PreparingClient on the real database', () => {
  let db: DataSource;
  let unprepared: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'prepared-int-spec', entities: [], poolSize: 1 }).initialize();
    unprepared = await createDataSource(loadConfig(), { applicationName: 'prepared-int-spec', entities: [], poolSize: 1, prepareStatements: false }).initialize();
  });

  afterAll(async () => {
    await db.destroy();
    await unprepared.destroy();
  });

  it('prepares a parameterised statement once and reuses it, with the same results', async () => {
    const sql = 'SELECT $1::int + 1 AS n';
    expect(await db.query(sql, [1])).toEqual([{ n: 2 }]);
    expect(await db.query(sql, [41])).toEqual([{ n: 42 }]);
    const names = await preparedNames(db);
    expect(names.filter((n) => n === statementName(sql))).toHaveLength(1);
  });

  it('leaves statements without parameters unnamed, so several in one call still run', async () => {
    const before = await preparedNames(db);
    await db.query('SELECT 1; SELECT 2');
    expect(await preparedNames(db)).toEqual(before);
  });

  it('keeps a statement prepared in a transaction that rolled back, and it still answers', async () => {
    const sql = "SELECT $1::text || '!' AS s";
    await expect(
      db.transaction(async (m) => {
        expect(await m.query(sql, ['a'])).toEqual([{ s: 'a!' }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query(sql, ['b'])).toEqual([{ s: 'b!' }]);
    expect(await preparedNames(db)).toContain(statementName(sql));
  });

  it('gives an error in a prepared statement back as the statement would, and the connection goes on', async () => {
    const sql = 'SELECT 1 / $1::int AS q';
    expect(await db.query(sql, [1])).toEqual([{ q: 1 }]);
    await expect(db.query(sql, [0])).rejects.toThrow('division by zero');
    expect(await db.query(sql, [2])).toEqual([{ q: 0 }]);
  });

  it('stops naming new texts at the bound, and runs them unnamed', async () => {
    const already = (await preparedNames(db)).length;
    for (let i = 0; i < MAX_PREPARED_PER_CONNECTION - already + 5; i += 1) expect(await db.query(`SELECT $1::int AS v, ${i} AS i`, [i])).toEqual([{ v: i, i }]);
    expect((await preparedNames(db)).length).toBe(MAX_PREPARED_PER_CONNECTION);
  });

  it('prepares nothing when turned off (the migration CLI)', async () => {
    await unprepared.query('SELECT $1::int AS n', [1]);
    expect(await preparedNames(unprepared)).toEqual([]);
  });
});
