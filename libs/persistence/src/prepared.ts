import { createHash } from 'node:crypto';
import pg from 'pg';

/** Most statements one connection keeps prepared; past it, new texts run unnamed, as before. */
export const MAX_PREPARED_PER_CONNECTION = 256;
/** Most SQL texts whose names are remembered (texts built per call would otherwise grow it without end). */
const MAX_NAMES = 4_096;

const names = new Map<string, string>();

/** A statement's name: a digest of its text, so the same text always names the same statement. */
export function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) names.clear();
    name = `sg_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

/** What TypeORM sends to open a transaction (PostgresQueryRunner.startTransaction, at depth 0). */
const BEGIN = 'START TRANSACTION';

/** A statement sent in the same round trip as the transaction's deferred BEGIN (see PreparingClient). */
class AfterBegin extends pg.Query {
  constructor(
    private readonly begin: string,
    config: pg.QueryConfig,
    callback: (error: Error | null | undefined, results: unknown) => void,
  ) {
    super(config, undefined, callback);
  }

  /** pg's extended-protocol messages for the statement (it has parameters), after the BEGIN's: one Sync for both. */
  prepare(connection: PgConnection): void {
    connection.parse({ text: this.begin, name: '', types: [] });
    connection.bind({ portal: '', statement: '', values: [] });
    connection.execute({ portal: '', rows: 0 });
    (pg.Query.prototype as unknown as { prepare(this: AfterBegin, c: PgConnection): void }).prepare.call(this, connection);
  }
}

/** The part of pg's (untyped) Connection that AfterBegin writes to. */
interface PgConnection {
  parse(message: { text: string; name: string; types: number[] }): void;
  bind(message: { portal: string; statement: string; values: unknown[] }): void;
  execute(message: { portal: string; rows: number }): void;
}

/**
 * A pg client that saves round trips: it prepares each parameterised statement once per
 * connection, and it sends a transaction's BEGIN with the transaction's first statement.
 *
 * **Prepared statements.** Unnamed, every call sends the statement's text and PostgreSQL parses
 * and plans it again: in bench:match's statement log, parse and bind took as long as execution
 * (decision 0014). Named by a digest of the text, the second call on a connection skips the
 * parse, and after five PostgreSQL may keep a generic plan and skip planning too. Only calls with
 * parameters are named: they already use the extended protocol, so naming them changes nothing
 * else. A call without parameters may hold several statements (the simple protocol), which a
 * prepared statement cannot. A connection keeps at most MAX_PREPARED_PER_CONNECTION statements,
 * so SQL whose text varies per call (an IN list built per call) cannot fill the server's memory;
 * the rest runs unnamed.
 *
 * **Deferred BEGIN.** TypeORM opens a transaction with a statement of its own, one round trip
 * before the first statement that does anything. Here BEGIN is held and sent in front of that
 * first statement, in the same request: a parameterised statement after it in the same
 * extended-protocol pipeline (one Sync for both), any other in the same simple query. A
 * transaction that ends before sending anything sends nothing at all. What PostgreSQL sees is the
 * same sequence of statements, so a failing first statement leaves the transaction aborted, as
 * before, and the ROLLBACK that follows ends it (decision 0005, stop 34).
 */
export class PreparingClient extends pg.Client {
  private readonly prepared = new Set<string>();
  /** The BEGIN held until the transaction's first statement. */
  private deferred: string | undefined;

  // pg's query has a dozen overloads; this one forwards all of them unchanged but two shapes.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    const plain = typeof config === 'string' && callback === undefined && typeof values !== 'function';
    if (plain && config === BEGIN && this.deferred === undefined) {
      this.deferred = config;
      return Promise.resolve(nothingSent('BEGIN'));
    }
    const begin = this.deferred;
    if (begin !== undefined) {
      this.deferred = undefined;
      if (plain) {
        if (config === 'COMMIT' || config === 'ROLLBACK') return Promise.resolve(nothingSent(config));
        return this.afterBegin(begin, config as string, values as unknown[] | undefined);
      }
      // Any other shape (a stream, a callback): the BEGIN goes first, alone. pg sends queries in
      // the order they were made, and a BEGIN fails only with its connection, which fails the next too.
      (super.query(begin) as Promise<unknown>).catch(() => undefined);
    }
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      const name = this.nameFor(config);
      if (name !== undefined) return super.query({ name, text: config, values }, callback);
    }
    return super.query(config, values, callback);
  }

  private nameFor(text: string): string | undefined {
    const name = statementName(text);
    if (!this.prepared.has(name) && this.prepared.size >= MAX_PREPARED_PER_CONNECTION) return undefined;
    this.prepared.add(name);
    return name;
  }

  /** The statement's result, as if it had been sent alone: the BEGIN's is left out. */
  private async afterBegin(begin: string, text: string, values: unknown[] | undefined): Promise<unknown> {
    const afterTheBegin = (results: unknown): unknown => {
      if (!Array.isArray(results)) return results;
      const rest = results.slice(1);
      return rest.length === 1 ? rest[0] : rest;
    };
    if (values === undefined || values.length === 0) {
      // The simple protocol: the two as one query string, as TypeORM's own multi-statement calls are.
      return afterTheBegin(await super.query(`${begin}; ${text}`));
    }
    const name = this.nameFor(text);
    return new Promise((resolve, reject) => {
      const query = new AfterBegin(begin, { text, values, ...(name === undefined ? {} : { name }) }, (error, results) =>
        error ? reject(error) : resolve(afterTheBegin(results)),
      );
      super.query(query);
    });
  }
}

/** The result of a statement that needed no round trip. */
function nothingSent(command: string): pg.QueryResult {
  return { command, rowCount: null, oid: 0, fields: [], rows: [] };
}
