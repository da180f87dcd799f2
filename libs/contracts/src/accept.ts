import type { z } from 'zod';

/**
 * A fast path in front of a zod schema, for the hot paths that validate every message (a month of
 * backtest ticks, the live feed): the schema's own rules, compiled once into plain predicates.
 *
 * It answers only "would the schema give back exactly this value?". Yes: the value is the parse
 * result, as it is. No: the schema itself parses it, so every rejection, and every value the schema
 * would change (unknown keys stripped, defaults filled in), still goes through zod and gets zod's
 * answer and message. A schema that uses anything outside the supported subset compiles to nothing
 * and is always parsed by zod: the fast path can be missing, never different.
 *
 * Zod walks each field through its generic machinery (~0.15 µs a field, ~4 µs a tick); a compiled
 * predicate is a type test and a regular expression per field.
 */
export type Acceptor = (value: unknown) => boolean;

export type SafeParser<T> = { safeParse(value: unknown): { success: true; data: T } | { success: false; error: z.ZodError } };

/** The schema's safeParse, with the compiled fast path in front when the schema compiles. */
export function withFastPath<T>(schema: z.ZodType<T>): SafeParser<T> {
  const accept = compileAcceptor(schema);
  if (accept === undefined) return schema;
  return {
    safeParse: (value: unknown) => (accept(value) ? { success: true, data: value as T } : schema.safeParse(value)),
  };
}

/** The schema's rules as one predicate, or undefined when it uses something not compiled here. */
export function compileAcceptor(schema: z.ZodType): Acceptor | undefined {
  try {
    return compile(schema as unknown as Internal);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

class Unsupported extends Error {}

type Def = Readonly<Record<string, unknown>> & { readonly type?: string; readonly check?: string };
interface Internal {
  readonly _zod: { readonly def: Def };
}

/** String formats whose whole check is their pattern (zod's `$ZodCheckStringFormat`). */
const PATTERN_FORMATS = new Set(['regex', 'datetime', 'date', 'time', 'duration', 'uuid', 'guid']);

function unsupported(what: string): never {
  throw new Unsupported(what);
}

function compile(schema: Internal): Acceptor {
  const def = schema._zod.def;
  if (def['coerce'] === true) unsupported('coercion');
  const base = compileType(def);
  // A schema that is itself a check (a string format, an integer) runs that check first, then
  // its own list, as zod's runChecks does; only after the type parse passed.
  const checks = [...(def.check !== undefined && def.type !== 'custom' ? [compileCheck(def)] : []), ...((def['checks'] as Internal[] | undefined) ?? []).map((c) => compileCheck(c._zod.def))];
  if (checks.length === 0) return base;
  if (checks.length === 1) {
    const only = checks[0] as Acceptor;
    return (v) => base(v) && only(v);
  }
  return (v) => {
    if (!base(v)) return false;
    for (const check of checks) if (!check(v)) return false;
    return true;
  };
}

function compileType(def: Def): Acceptor {
  switch (def.type) {
    case 'string':
      return (v) => typeof v === 'string';
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'enum': {
      const values = Object.values(def['entries'] as Record<string, unknown>);
      if (!values.every((x) => typeof x === 'string')) unsupported('a non-string enum');
      const set = new Set<unknown>(values);
      return (v) => set.has(v);
    }
    case 'literal': {
      const set = new Set<unknown>(def['values'] as unknown[]);
      return (v) => set.has(v);
    }
    case 'optional': {
      const inner = compile(def['innerType'] as Internal);
      return (v) => v === undefined || inner(v);
    }
    case 'nullable': {
      const inner = compile(def['innerType'] as Internal);
      return (v) => v === null || inner(v);
    }
    case 'array': {
      const element = compile(def['element'] as Internal);
      return (v) => {
        if (!Array.isArray(v)) return false;
        for (const x of v) if (!element(x)) return false;
        return true;
      };
    }
    case 'object':
      return compileObject(def);
    default:
      return unsupported(`type ${String(def.type)}`);
  }
}

function compileObject(def: Def): Acceptor {
  const shape = def['shape'] as Record<string, Internal>;
  const keys = Object.keys(shape);
  const fields = keys.map((k) => compile(shape[k] as Internal));
  const catchall = (def['catchall'] as Internal | undefined)?._zod.def.type;
  // Strict ('never') refuses unknown keys; a plain object would strip them (a changed value, so
  // not this path's to accept); loose ('unknown') keeps them as they are.
  const loose = catchall === 'unknown' || catchall === 'any';
  if (catchall !== undefined && catchall !== 'never' && !loose) unsupported(`an object whose other keys are ${catchall}`);
  // Generated, so that each field is read by name: a load with a constant key is cached per
  // object shape (every tick of a feed has the same one), where `o[keys[i]]` in a loop is a
  // generic keyed lookup, which was most of the time spent here. Each field's predicate gets
  // its own call site too. The keys are the schema's, written in as JSON string literals.
  const body = [
    "if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;",
    'let present = 0;',
    'let x;',
    ...keys.map((k, i) => `x = o[${JSON.stringify(k)}]; if (x !== undefined || ${JSON.stringify(k)} in o) present += 1; if (!f[${i}](x)) return false;`),
    // No key but the shape's: counting is cheaper than looking each one up. Inherited enumerable
    // keys count too, which only sends such a value to zod.
    loose ? 'return true;' : 'let count = 0; for (const _ in o) count += 1; return count === present;',
  ].join('\n');
  const make = new Function('f', `return function accept(o) {\n${body}\n};`) as (f: readonly Acceptor[]) => Acceptor;
  return make(fields);
}

function compileCheck(def: Def): Acceptor {
  // Zod gives its length checks a `when` that runs them on anything with a length. Here a check
  // only ever sees a value whose type passed, so that one changes nothing; any other may.
  const when = def['when'] as { name?: string } | undefined;
  if (when !== undefined && when.name !== '_whenHasLength') unsupported('a conditional check');
  switch (def.check) {
    case 'string_format': {
      const pattern = def['pattern'] as RegExp | undefined;
      if (pattern === undefined || !PATTERN_FORMATS.has(def['format'] as string)) unsupported(`format ${String(def['format'])}`);
      // The last two strings that passed: a feed repeats itself (the same instants in every tick
      // of a round, the same zone, currency and provider ids), and a string compare costs a
      // fraction of the pattern (the ISO instant's is long). A pattern is a pure function of
      // the string, so a string that passed once passes again.
      let passed0: unknown;
      let passed1: unknown;
      let slot = 0;
      return (v) => {
        if (v === passed0 || v === passed1) return true;
        pattern.lastIndex = 0;
        if (!pattern.test(v as string)) return false;
        if ((slot ^= 1) === 0) passed0 = v;
        else passed1 = v;
        return true;
      };
    }
    case 'min_length': {
      const min = def['minimum'] as number;
      return (v) => (v as { length: number }).length >= min;
    }
    case 'max_length': {
      const max = def['maximum'] as number;
      return (v) => (v as { length: number }).length <= max;
    }
    case 'length_equals': {
      const length = def['length'] as number;
      return (v) => (v as { length: number }).length === length;
    }
    case 'greater_than': {
      const value = def['value'] as number;
      if (typeof value !== 'number') unsupported('a non-number bound');
      return def['inclusive'] === true ? (v) => (v as number) >= value : (v) => (v as number) > value;
    }
    case 'less_than': {
      const value = def['value'] as number;
      if (typeof value !== 'number') unsupported('a non-number bound');
      return def['inclusive'] === true ? (v) => (v as number) <= value : (v) => (v as number) < value;
    }
    case 'number_format':
      if (def['format'] !== 'safeint') unsupported(`number format ${String(def['format'])}`);
      return (v) => Number.isSafeInteger(v);
    case 'custom': {
      // `.refine(fn)`: fn(value), truthy passes. A check written against zod's payload
      // (`.superRefine`, `.check`) has no `fn` and is not compiled.
      const fn = def['fn'];
      if (typeof fn !== 'function') unsupported('a custom check without fn');
      return (v) => {
        const r: unknown = (fn as (x: unknown) => unknown)(v);
        // An async refinement is zod's to run (and to refuse in a synchronous parse).
        return !(r instanceof Promise) && Boolean(r);
      };
    }
    default:
      return unsupported(`check ${String(def.check)}`);
  }
}
