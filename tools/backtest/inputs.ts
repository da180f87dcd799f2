import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  describeIssues,
  contractOf,
  identifier,
  instantMs,
  isoInstant,
  Topic,
  type EnergyTariff,
  type FxRate,
  type MessageOf,
  type SafeParser,
  type SpotPriceTick,
} from '#contracts';
import { jobRequestSchema, type JobRequest } from '#market';

/** The topics a backtest replays from files (jobs come in the `POST /jobs` shape instead). */
export type ReplayedTopic = typeof Topic.SpotPrices | typeof Topic.EnergyTariffs | typeof Topic.FxRates;

/** A bad input line: the run stops, naming the file and the line. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'InputError';
  }
}

export interface Located<T> {
  readonly message: T;
  /** Position in its file (1-based line), for errors and for a stable order among equal instants. */
  readonly line: number;
}

/** A job as submitted: the `POST /v1/jobs` body, plus when (and, optionally, as whom and under which id). */
export interface BacktestJob {
  readonly id: string;
  readonly customerId: string;
  readonly submittedAt: number;
  readonly request: JobRequest;
}

export interface BacktestInputs {
  readonly ticks: readonly Located<SpotPriceTick>[];
  readonly tariffs: readonly Located<EnergyTariff>[];
  readonly fx: readonly Located<FxRate>[];
  readonly jobs: readonly Located<BacktestJob>[];
}

const jobLineSchema = z.looseObject({
  submittedAt: isoInstant,
  customerId: identifier.optional(),
  id: z.string().min(1).max(100).optional(),
});

/** A UUID-shaped id from the line's text: the same file gives the same ids, run after run. */
function idOf(file: string, line: number, text: string): string {
  const h = createHash('sha256').update(`${file}\u0000${line}\u0000${text}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Each non-blank line of a JSON Lines file, parsed, with its 1-based number; the first that is not JSON stops it. */
function* jsonLines(file: string, text: string): Generator<{ value: unknown; line: number; raw: string }> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i] as string;
    if (raw.trim() === '') continue;
    try {
      yield { value: JSON.parse(raw) as unknown, line: i + 1, raw };
    } catch (error) {
      throw new InputError(file, i + 1, `not JSON: ${(error as Error).message}`);
    }
  }
}

/**
 * The lines of a JSON Lines file, each one contract message: bare, or as the feed tool writes them
 * (`{"topic": ..., "message": ...}`, whose topic must then be this file's). Blank lines are skipped.
 */
export function readLines<T extends ReplayedTopic>(file: string, text: string, topic: T): Located<MessageOf<T>>[] {
  // The live contract's parser: its schema with the compiled fast path in front, so a valid line
  // costs a predicate, not zod's walk; anything else is zod's to parse and to word.
  const parser = contractOf(topic).parser as SafeParser<MessageOf<T>>;
  const out: Located<MessageOf<T>>[] = [];
  for (const next of jsonLines(file, text)) {
    const { line } = next;
    let value = next.value;
    if (typeof value === 'object' && value !== null && 'topic' in value && 'message' in value) {
      const envelope = value as { topic: unknown; message: unknown };
      if (envelope.topic !== topic) throw new InputError(file, line, `a ${String(envelope.topic)} message in a file of ${topic}`);
      value = envelope.message;
    }
    const parsed = parser.safeParse(value);
    if (!parsed.success) throw new InputError(file, line, describeIssues(parsed.error));
    out.push({ message: parsed.data, line });
  }
  return out;
}

export function readJobs(file: string, text: string): Located<BacktestJob>[] {
  const out: Located<BacktestJob>[] = [];
  for (const { value, line, raw } of jsonLines(file, text)) {
    const head = jobLineSchema.safeParse(value);
    if (!head.success) throw new InputError(file, line, describeIssues(head.error));
    const { submittedAt, customerId, id, ...body } = head.data;
    const request = jobRequestSchema.safeParse(body);
    if (!request.success) throw new InputError(file, line, describeIssues(request.error));
    out.push({
      message: { id: id ?? idOf(file, line, raw), customerId: customerId ?? 'backtest', submittedAt: instantMs(submittedAt), request: request.data },
      line,
    });
  }
  return out;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(file, 0, `cannot read: ${(error as Error).message}`);
  }
}

/** Reads and validates every input with the live path's schemas; the first bad line stops it. */
export function readInputs(files: { ticks?: string; tariffs?: string; fx?: string; jobs: string }): BacktestInputs {
  return {
    ticks: files.ticks === undefined ? [] : readLines(files.ticks, read(files.ticks), Topic.SpotPrices),
    tariffs: files.tariffs === undefined ? [] : readLines(files.tariffs, read(files.tariffs), Topic.EnergyTariffs),
    fx: files.fx === undefined ? [] : readLines(files.fx, read(files.fx), Topic.FxRates),
    jobs: readJobs(files.jobs, read(files.jobs)),
  };
}
