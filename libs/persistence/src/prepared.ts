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

/**
 * A pg client that prepares each parameterised statement once per connection. Unnamed, every
 * call sends the statement's text and PostgreSQL parses and plans it again: in bench:match's
 * statement log, parse and bind took as long as execution (decision 0014). Named by a digest of
 * the text, the second call on a connection skips the parse, and after five PostgreSQL may keep
 * a generic plan and skip planning too.
 *
 * Only calls with parameters are named: they already use the extended protocol, so naming them
 * changes nothing else. A call without parameters may hold several statements (the simple
 * protocol), which a prepared statement cannot. A connection keeps at most
 * MAX_PREPARED_PER_CONNECTION statements, so SQL whose text varies per call (an IN list built
 * per call) cannot fill the server's memory; the rest runs unnamed.
 */
export class PreparingClient extends pg.Client {
  private readonly prepared = new Set<string>();

  // pg's query has a dozen overloads; this one forwards all of them unchanged but one shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      const name = statementName(config);
      if (this.prepared.has(name) || this.prepared.size < MAX_PREPARED_PER_CONNECTION) {
        this.prepared.add(name);
        return super.query({ name, text: config, values }, callback);
      }
    }
    return super.query(config, values, callback);
  }
}
