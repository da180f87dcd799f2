import pg from 'pg';
import { createDataSource } from '#persistence';
import type { Config } from '#platform';
import { allEntities } from './entities.js';
import { migrations } from './index.js';

/** Creates the configured database when it does not exist (the server must). */
export async function ensureDatabase(config: Config): Promise<void> {
  const url = new URL(config.DATABASE_URL);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two processes creating it at once: the loser finds it there, which is what it wanted.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

function migrationDataSource(config: Config) {
  return createDataSource(config, { applicationName: 'migrations', entities: allEntities, migrations, poolSize: 2, prepareStatements: false });
}

export async function runMigrations(config: Config): Promise<string[]> {
  await ensureDatabase(config);
  const ds = await migrationDataSource(config).initialize();
  try {
    // Serialise concurrent runners (every app start, CI, a developer): one migrates, the others wait.
    return await ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['spotgrid.migrations']);
      const ran = await ds.runMigrations({ transaction: 'each' });
      return ran.map((r) => r.name);
    });
  } finally {
    await ds.destroy();
  }
}

export async function revertLastMigration(config: Config): Promise<void> {
  const ds = await migrationDataSource(config).initialize();
  try {
    await ds.undoLastMigration({ transaction: 'each' });
  } finally {
    await ds.destroy();
  }
}

/**
 * The SQL TypeORM would run to make the database match the entities. After all migrations have
 * run it must be empty: anything else means an entity and the migrations disagree.
 */
export async function checkDrift(config: Config): Promise<string[]> {
  const ds = await migrationDataSource(config).initialize();
  try {
    const pending = await ds.driver.createSchemaBuilder().log();
    return pending.upQueries.map((q) => q.query);
  } finally {
    await ds.destroy();
  }
}
