import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` arrives from `pg` as a string. Turning it into a number would silently lose
 * precision above 2^53, so columns that hold money or counts convert to `bigint` here, at the
 * repository edge, and nowhere else.
 */
export const bigintColumn: ValueTransformer = {
  to: (value: bigint | null | undefined) => (value === null || value === undefined ? value : value.toString()),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};

/** `numeric` columns (capacities, raw decimal prices) stay exact decimal strings. */
export const numericColumn: ValueTransformer = {
  to: (value: string | null | undefined) => value,
  from: (value: string | null) => value,
};
