import type { EntityManager } from 'typeorm';
import { contractOf, describeIssues, type ContractTopic, type MessageOf } from '#contracts';
import { byteaArray, textArray, type AppSchemaName } from '#persistence';
import { currentCorrelationId } from '#platform';
import { Header, type HeaderMap } from './headers.js';

/** A message ready for the wire: what the outbox stores and the relay sends. */
export interface OutboundMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: HeaderMap;
}

export class ContractViolationError extends Error {
  constructor(topic: string, detail: string) {
    super(`refusing to produce an invalid ${topic} message: ${detail}`);
    this.name = 'ContractViolationError';
  }
}

/**
 * Validates a message against its topic's schema and encodes it. Producers validate too: a bug
 * that would emit a bad message fails where it happens, not in every consumer downstream.
 */
export function encodeMessage<T extends ContractTopic>(topic: T, message: MessageOf<T>, headers: HeaderMap = {}): OutboundMessage {
  const contract = contractOf(topic);
  const parsed = contract.parser.safeParse(message);
  if (!parsed.success) throw new ContractViolationError(topic, describeIssues(parsed.error));
  const correlationId = headers[Header.CorrelationId] ?? currentCorrelationId();
  let withId = headers;
  if (correlationId !== undefined) {
    // Copied, then set: V8 builds `{ ...headers, [key]: id }` on a slow path (~0.7 µs a message).
    const copy: Record<string, string> = Object.assign({}, headers);
    copy[Header.CorrelationId] = correlationId;
    withId = copy;
  }
  return {
    topic,
    key: (contract.key as (m: MessageOf<T>) => string)(message),
    value: Buffer.from(JSON.stringify(message)),
    headers: withId,
  };
}

/**
 * Adds messages to the app's outbox inside the caller's transaction: they are published if and
 * only if the transaction commits. One statement, however many messages, as binary arrays
 * (`#persistence`'s pg-arrays): the values go as their own bytes, where an array literal sent
 * each one hex-escaped for PostgreSQL to parse back.
 */
export async function enqueueOutbox(manager: EntityManager, schema: AppSchemaName, messages: readonly OutboundMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await manager.query(
    `INSERT INTO "${schema}".outbox (topic, key, value, headers)
     SELECT topic, key, value, headers::jsonb FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) AS m(topic, key, value, headers)`,
    [
      textArray(messages.map((m) => m.topic)),
      textArray(messages.map((m) => m.key)),
      byteaArray(messages.map((m) => m.value)),
      textArray(messages.map((m) => JSON.stringify(m.headers))),
    ],
  );
}

/**
 * One row of a statement's JSON input (`json_to_recordset`) that carries an outbound message: the
 * row's own fields, then `"value"` holding the message's bytes as JSON itself, not as a string of
 * JSON. The statement declares `value json` and stores `convert_to(value::text, 'UTF8')`:
 * PostgreSQL reproduces a `json` field's text exactly, so the outbox holds the encoder's very
 * bytes. As a string, every `"` in the value was escaped, and PostgreSQL un-escapes such a string
 * one character at a time (`json_lex` and `appendStringInfoChar` were 12% of its time in
 * bench:ingest; decision 0005, stop 30).
 */
export function jsonRowWithValue(fields: object, value: Buffer): string {
  const head = JSON.stringify(fields);
  return `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"value":${value.toString('utf8')}}`;
}

/** Messages as a JSON array of rows (topic, key, value, headers) for `json_to_recordset`; see `jsonRowWithValue`. */
export function outboxRowsJson(messages: readonly OutboundMessage[]): string {
  return `[${messages.map((m) => jsonRowWithValue({ topic: m.topic, key: m.key, headers: m.headers }, m.value)).join(',')}]`;
}
