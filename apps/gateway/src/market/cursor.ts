import { ProblemException } from '#runtime';

/** Opaque keyset cursors: the position after the last row of a page, base64url JSON. */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === arity && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value;
  } catch {
    // fall through to the 400
  }
  throw new ProblemException({ title: 'invalid query', status: 400, detail: 'cursor: not a cursor this endpoint issued' });
}
