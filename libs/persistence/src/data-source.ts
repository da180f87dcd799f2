import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';
import type { Config } from '#platform';
import { PreparingClient } from './prepared.js';

// The TypeORM entity list type, without the string globs: entities are always listed as classes,
// so what an app maps is what it imports (and what ESM can load without a file scan).
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityList = MixedList<Function | EntitySchema>;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type MigrationList = Function[];

export interface DataSourceParts {
  /** Shown in pg_stat_activity, so a slow query names its service. */
  readonly applicationName: string;
  readonly entities: EntityList;
  readonly migrations?: MigrationList;
  /** Overrides the configured pool size (the migration CLI needs one connection). */
  readonly poolSize?: number;
  /**
   * Prepare parameterised statements once per connection (`PreparingClient`); on unless false.
   * The migration CLI turns it off: a plan cached before a migration changes a table would fail.
   */
  readonly prepareStatements?: boolean;
}

/**
 * The one way a Spotgrid process describes its database: apps, the migration CLI and the tests
 * all build their DataSource here. `synchronize` is off, always: the schema is what migrations say.
 */
export function dataSourceOptions(config: Config, parts: DataSourceParts): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    applicationName: parts.applicationName,
    entities: parts.entities,
    migrations: parts.migrations ?? [],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: ['error', 'warn', 'migration'],
    extra: {
      ...(parts.prepareStatements === false ? {} : { Client: PreparingClient }),
      max: parts.poolSize ?? config.DATABASE_POOL_SIZE,
      // Fail fast when PostgreSQL is unreachable: the caller retries with back-off, and /ready says why.
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      // A statement stuck for a minute is a bug or a lock; abort it rather than hold a pool slot forever.
      statement_timeout: 60_000,
    },
  };
}

export function createDataSource(config: Config, parts: DataSourceParts): DataSource {
  return new DataSource(dataSourceOptions(config, parts));
}
