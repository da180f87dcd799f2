/**
 * One-dimensional arrays in PostgreSQL's binary format, for statements that take many rows at
 * once as one array per column (`unnest($1::text[], $2::int8[], ...)`).
 *
 * pg sends a Buffer parameter in binary, so the server reads each element as it stands: a length
 * and its bytes. The same rows as a JSON document cost PostgreSQL 13–19 µs a tick in
 * bench:ingest's store: `json_to_recordset` lexes every character, builds a hash table of every
 * object's fields, and parses the nested objects again. As these arrays, 3.5–5 µs (decision 0005,
 * stop 31). A text array literal would be lexed too, with its own escaping.
 *
 * Layout: ndim (1), has-nulls flag, element type OID, length, lower bound (1), then per element
 * its byte length (-1 for NULL) and its bytes.
 */

const OID = { bool: 16, bytea: 17, int8: 20, text: 25 } as const;
const HEADER = 20;

function header(buffer: Buffer, oid: number, length: number, hasNulls: boolean): void {
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(hasNulls ? 1 : 0, 4);
  buffer.writeInt32BE(oid, 8);
  buffer.writeInt32BE(length, 12);
  buffer.writeInt32BE(1, 16);
}

/** Writes a NULL element (its length, -1, and no bytes); returns where the next one goes. */
function nullAt(buffer: Buffer, at: number): number {
  buffer.writeInt32BE(-1, at);
  return at + 4;
}

/** `text[]`: null and undefined are NULL. Cast the column in SQL for other types read from text (numeric, timestamptz, jsonb). */
export function textArray(values: readonly (string | null | undefined)[]): Buffer {
  return asciiTextArray(values) ?? utf8TextArray(values);
}

/** A length as the four characters of its big-endian bytes, for a string encoded as latin1. */
function lengthChars(n: number): string {
  return String.fromCharCode(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

const TEXT_HEADER = lengthChars(1) + lengthChars(0) + lengthChars(OID.text);

/**
 * The common case, identifiers, decimals and instants, all ASCII: the whole array as one string of
 * byte-sized characters, encoded at once, about twice as fast as writing each value into a buffer.
 * Undefined when a value is not ASCII (or is NULL, or a length has a byte of 128 or more): every
 * character of the string must then be under 128 for its UTF-8 length to equal its own, and the
 * check is one native scan.
 */
function asciiTextArray(values: readonly (string | null | undefined)[]): Buffer | undefined {
  let s = TEXT_HEADER + lengthChars(values.length) + lengthChars(1);
  for (const v of values) {
    if (v === null || v === undefined) return undefined;
    s += lengthChars(v.length) + v;
  }
  return Buffer.byteLength(s, 'utf8') === s.length ? Buffer.from(s, 'latin1') : undefined;
}

function utf8TextArray(values: readonly (string | null | undefined)[]): Buffer {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: write into that much, then cut.
  let bound = HEADER;
  let hasNulls = false;
  for (const v of values) {
    if (v === null || v === undefined) hasNulls = true;
    else bound += 4 + 3 * v.length;
  }
  const buffer = Buffer.allocUnsafe(bound + 4 * values.length);
  header(buffer, OID.text, values.length, hasNulls);
  let at = HEADER;
  for (const v of values) {
    if (v === null || v === undefined) {
      at = nullAt(buffer, at);
      continue;
    }
    const written = buffer.write(v, at + 4, 'utf8');
    buffer.writeInt32BE(written, at);
    at += 4 + written;
  }
  return buffer.subarray(0, at);
}

/** `int8[]` from safe integers (a tick's seq, a row id); null and undefined are NULL. */
export function int8Array(values: readonly (number | null | undefined)[]): Buffer {
  const hasNulls = values.some((v) => v === null || v === undefined);
  const buffer = Buffer.allocUnsafe(HEADER + 12 * values.length);
  header(buffer, OID.int8, values.length, hasNulls);
  let at = HEADER;
  for (const v of values) {
    if (v === null || v === undefined) {
      at = nullAt(buffer, at);
      continue;
    }
    if (!Number.isSafeInteger(v)) throw new RangeError(`int8Array: ${v} is not a safe integer`);
    buffer.writeInt32BE(8, at);
    // Two's complement in two words: the high one floors (negative numbers borrow from it).
    buffer.writeInt32BE(Math.floor(v / 4_294_967_296), at + 4);
    buffer.writeUInt32BE(v >>> 0, at + 8);
    at += 12;
  }
  return buffer.subarray(0, at);
}

/** `bool[]`. */
export function boolArray(values: readonly boolean[]): Buffer {
  const buffer = Buffer.allocUnsafe(HEADER + 5 * values.length);
  header(buffer, OID.bool, values.length, false);
  let at = HEADER;
  for (const v of values) {
    buffer.writeInt32BE(1, at);
    buffer[at + 4] = v ? 1 : 0;
    at += 5;
  }
  return buffer;
}

/** `bytea[]`: the buffers' own bytes, with no encoding at all (an outbox message's value, say). */
export function byteaArray(values: readonly Buffer[]): Buffer {
  let size = HEADER;
  for (const v of values) size += 4 + v.length;
  const buffer = Buffer.allocUnsafe(size);
  header(buffer, OID.bytea, values.length, false);
  let at = HEADER;
  for (const v of values) {
    buffer.writeInt32BE(v.length, at);
    v.copy(buffer, at + 4);
    at += 4 + v.length;
  }
  return buffer;
}
