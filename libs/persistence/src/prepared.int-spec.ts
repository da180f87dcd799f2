import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource, QueryRunner } from 'typeorm';
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

  /** Round trips to the server while `run` runs on one connection of its own: ReadyForQuery messages. */
  async function roundTrips(run: (qr: QueryRunner) => Promise<void>): Promise<number> {
    const qr = db.createQueryRunner();
    const client = (await qr.connect()) as { connection: { on(event: 'readyForQuery', f: () => void): void; off(event: 'readyForQuery', f: () => void): void } };
    let n = 0;
    const count = () => (n += 1);
    client.connection.on('readyForQuery', count);
    try {
      await run(qr);
    } finally {
      client.connection.off('readyForQuery', count);
      await qr.release();
    }
    return n;
  }

  it('sends a transaction\'s BEGIN with its first statement, and nothing for a transaction that sent nothing', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS prepared_probe (v int NOT NULL)');
    const v = Math.floor(Math.random() * 1e9);
    const trips = await roundTrips(async (qr) => {
      await qr.startTransaction();
      await qr.query('INSERT INTO prepared_probe (v) VALUES ($1)', [v]);
      await qr.commitTransaction();
    });
    expect(trips).toBe(2);
    expect(await db.query('SELECT v FROM prepared_probe WHERE v = $1', [v])).toEqual([{ v }]);
    expect(
      await roundTrips(async (qr) => {
        await qr.startTransaction();
        await qr.commitTransaction();
      }),
    ).toBe(0);
  });

  it('keeps what a transaction is: a failing first statement rolls it back, the isolation level holds, results are as sent alone', async () => {
    const v = Math.floor(Math.random() * 1e9);
    // The first statement fails (parameterised): nothing of the transaction is kept, and the connection goes on.
    await expect(
      db.transaction(async (m) => {
        await m.query('INSERT INTO prepared_probe (v) SELECT $1::int / 0', [v]);
      }),
    ).rejects.toThrow('division by zero');
    await expect(db.transaction((m) => m.query('SELECT 1 / 0'))).rejects.toThrow('division by zero');
    // Not parameterised (the simple protocol), then a second statement that fails.
    await expect(
      db.transaction(async (m) => {
        await m.query(`INSERT INTO prepared_probe (v) VALUES (${v})`);
        await m.query('SELECT 1 / 0');
      }),
    ).rejects.toThrow('division by zero');
    expect(await db.query('SELECT v FROM prepared_probe WHERE v = $1', [v])).toEqual([]);
    expect(await db.transaction('SERIALIZABLE', (m) => m.query('SHOW transaction_isolation'))).toEqual([{ transaction_isolation: 'serializable' }]);
    // A first statement's results, parameterised or not, one statement or two, are what they are outside a transaction.
    for (const [sql, params] of [
      ['SELECT $1::int AS a, $2::text AS b', [1, 'x']],
      ['SELECT 1 AS a', []],
      ['SELECT 1 AS a; SELECT 2 AS b', []],
      ['UPDATE prepared_probe SET v = v WHERE v = $1', [-1]],
    ] as const) {
      const alone = await db.query(sql, [...params]);
      expect(await db.transaction((m) => m.query(sql, [...params]))).toEqual(alone);
    }
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
