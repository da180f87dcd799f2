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

/** The same inputs as sources read as they are replayed, each in file order. */
export interface BacktestSources {
  readonly ticks: Iterable<Located<SpotPriceTick>>;
  readonly tariffs: Iterable<Located<EnergyTariff>>;
  readonly fx: Iterable<Located<FxRate>>;
  readonly jobs: Iterable<Located<BacktestJob>>;
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

/** Nothing but white space. A line that starts with `{` is not, and is not trimmed to find out. */
function isBlank(raw: string): boolean {
  return raw.length === 0 || (raw.charCodeAt(0) !== 123 /* { */ && raw.trim() === '');
}

/** A line's JSON, or the error that names it. */
function parseLine(file: string, line: number, raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new InputError(file, line, `not JSON: ${(error as Error).message}`);
  }
}

/**
 * The lines of a JSON Lines file, each one contract message, read one at a time: bare, or as the
 * feed tool writes them (`{"topic": ..., "message": ...}`, whose topic must then be this file's).
 * Blank lines are skipped; the first bad line stops it, naming the file and the line.
 */
export function* streamLines<T extends ReplayedTopic>(file: string, text: string, topic: T): Generator<Located<MessageOf<T>>> {
  // The live contract's parser: its schema with the compiled fast path in front, so a valid line
  // costs a predicate, not zod's walk; anything else is zod's to parse and to word.
  const parser = contractOf(topic).parser as SafeParser<MessageOf<T>>;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i] as string;
    if (isBlank(raw)) continue;
    const line = i + 1;
    let value = parseLine(file, line, raw);
    if (typeof value === 'object' && value !== null && 'topic' in value && 'message' in value) {
      const envelope = value as { topic: unknown; message: unknown };
      if (envelope.topic !== topic) throw new InputError(file, line, `a ${String(envelope.topic)} message in a file of ${topic}`);
      value = envelope.message;
    }
    const parsed = parser.safeParse(value);
    if (!parsed.success) throw new InputError(file, line, describeIssues(parsed.error));
    yield { message: parsed.data, line };
  }
}

/** Every line of a JSON Lines file of contract messages, read and checked (see `streamLines`). */
export function readLines<T extends ReplayedTopic>(file: string, text: string, topic: T): Located<MessageOf<T>>[] {
  return [...streamLines(file, text, topic)];
}

/** A jobs file, one job at a time: the `POST /v1/jobs` body with `submittedAt` (and optionally `customerId`, `id`). */
export function* streamJobs(file: string, text: string): Generator<Located<BacktestJob>> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i] as string;
    if (isBlank(raw)) continue;
    const line = i + 1;
    const head = jobLineSchema.safeParse(parseLine(file, line, raw));
    if (!head.success) throw new InputError(file, line, describeIssues(head.error));
    const { submittedAt, customerId, id, ...body } = head.data;
    const request = jobRequestSchema.safeParse(body);
    if (!request.success) throw new InputError(file, line, describeIssues(request.error));
    yield {
      message: { id: id ?? idOf(file, line, raw), customerId: customerId ?? 'backtest', submittedAt: instantMs(submittedAt), request: request.data },
      line,
    };
  }
}

export function readJobs(file: string, text: string): Located<BacktestJob>[] {
  return [...streamJobs(file, text)];
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(file, 0, `cannot read: ${(error as Error).message}`);
  }
}

/** An input file's name (for errors) and its text. */
export interface InputText {
  readonly file: string;
  readonly text: string;
}

/** The input files of one run, by what they hold; only jobs are required. */
export interface InputTexts {
  readonly ticks?: InputText;
  readonly tariffs?: InputText;
  readonly fx?: InputText;
  readonly jobs: InputText;
}

/** Reads the input files' texts (a file that cannot be read is an InputError with line 0). */
export function readTexts(files: { ticks?: string; tariffs?: string; fx?: string; jobs: string }): InputTexts {
  const of = (file: string): InputText => ({ file, text: read(file) });
  return {
    jobs: of(files.jobs),
    ...(files.ticks !== undefined && { ticks: of(files.ticks) }),
    ...(files.tariffs !== undefined && { tariffs: of(files.tariffs) }),
    ...(files.fx !== undefined && { fx: of(files.fx) }),
  };
}

/** The inputs read one message at a time, in file order (for `Backtester.stream`). */
export function sourcesOf(texts: InputTexts): BacktestSources {
  return {
    ticks: texts.ticks === undefined ? [] : streamLines(texts.ticks.file, texts.ticks.text, Topic.SpotPrices),
    tariffs: texts.tariffs === undefined ? [] : streamLines(texts.tariffs.file, texts.tariffs.text, Topic.EnergyTariffs),
    fx: texts.fx === undefined ? [] : streamLines(texts.fx.file, texts.fx.text, Topic.FxRates),
    jobs: streamJobs(texts.jobs.file, texts.jobs.text),
  };
}

/** Every input read and checked before any is replayed (for `Backtester.run`, which sorts them). */
export function inputsOf(texts: InputTexts): BacktestInputs {
  const sources = sourcesOf(texts);
  return { ticks: [...sources.ticks], tariffs: [...sources.tariffs], fx: [...sources.fx], jobs: [...sources.jobs] };
}
