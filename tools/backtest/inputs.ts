import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { z } from 'zod';
import {
  describeIssues,
  contractOf,
  identifier,
  instantMs,
  isoInstant,
  type Topic,
  type EnergyTariff,
  type FxRate,
  type MessageOf,
  type SafeParser,
  type SpotPriceTick,
} from '#contracts';
import { jobRequestSchema, offerStateOf, type JobRequest, type OfferState } from '#market';

/** The topics a backtest replays from files (jobs come in the `POST /jobs` shape instead). */
export type ReplayedTopic = typeof Topic.SpotPrices | typeof Topic.EnergyTariffs | typeof Topic.FxRates;

/** A bad input line: the run stops, naming the file and the line. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
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

/**
 * A tick as the replay applies it: the offer state it sets (market-data's `offerStateOf`) and the
 * instant it was published, which is when the replay's clock applies it.
 */
export interface OfferTick {
  readonly at: number;
  readonly state: OfferState;
}

export const offerTickOf = (t: SpotPriceTick): OfferTick => ({ at: instantMs(t.publishedAt), state: offerStateOf(t) });

/** The same inputs as sources read as they are replayed, each in file order. */
export interface BacktestSources {
  readonly ticks: Iterable<Located<OfferTick>>;
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

/** A topic's parser: its schema with the compiled fast path in front, so a valid line costs a predicate, not zod's walk. */
export const lineParser = <T extends ReplayedTopic>(topic: T): SafeParser<MessageOf<T>> => contractOf(topic).parser as SafeParser<MessageOf<T>>;

/**
 * One line of a JSON Lines file of contract messages: its message, bare or as the feed tool
 * writes them (`{"topic": ..., "message": ...}`, whose topic must then be this file's), or
 * undefined when the line is blank. A bad line is an InputError naming the file and the line.
 */
export function messageOf<T extends ReplayedTopic>(file: string, line: number, raw: string, topic: T, parser: SafeParser<MessageOf<T>>): MessageOf<T> | undefined {
  if (isBlank(raw)) return undefined;
  let value = parseLine(file, line, raw);
  if (typeof value === 'object' && value !== null && 'topic' in value && 'message' in value) {
    const envelope = value as { topic: unknown; message: unknown };
    if (envelope.topic !== topic) throw new InputError(file, line, `a ${String(envelope.topic)} message in a file of ${topic}`);
    value = envelope.message;
  }
  // Anything the fast path does not accept is zod's to parse and to word.
  const parsed = parser.safeParse(value);
  if (!parsed.success) throw new InputError(file, line, describeIssues(parsed.error));
  return parsed.data;
}

/**
 * The lines of a JSON Lines file, each one contract message (`messageOf`), read one at a time.
 * Blank lines are skipped; the first bad line stops it, naming the file and the line. Lines are
 * numbered from `firstLine` (a part of a file, such as a block, starts further down).
 */
export function* streamLines<T extends ReplayedTopic>(file: string, text: string | Iterable<string>, topic: T, firstLine = 1): Generator<Located<MessageOf<T>>> {
  const parser = lineParser(topic);
  let line = firstLine - 1;
  for (const raw of typeof text === 'string' ? text.split('\n') : text) {
    line += 1;
    const message = messageOf(file, line, raw, topic, parser);
    if (message !== undefined) yield { message, line };
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

/**
 * A file's bytes. A regular file is read into shared memory, so that a second thread can read its
 * lines too (`tick-reader.ts`) without a copy; anything else (a pipe) is read as it comes.
 */
function read(file: string): Uint8Array {
  try {
    const fd = openSync(file, 'r');
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return readFileSync(fd);
      const bytes = new Uint8Array(new SharedArrayBuffer(stat.size));
      let at = 0;
      for (let n = -1; at < bytes.length && n !== 0; at += n) n = readSync(fd, bytes, at, bytes.length - at, at);
      return bytes.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new InputError(file, 0, `cannot read: ${(error as Error).message}`);
  }
}

/** An input file's name (for errors) and its contents: text, or the file's bytes (UTF-8). */
export interface InputText {
  readonly file: string;
  readonly text: string | Uint8Array;
}

/** An input's contents as text. */
export const textOf = ({ text }: InputText): string => (typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8'));

/** The input files of one run, by what they hold; only jobs are required. */
export interface InputTexts {
  readonly ticks?: InputText;
  readonly tariffs?: InputText;
  readonly fx?: InputText;
  readonly jobs: InputText;
}

/** Reads the input files (a file that cannot be read is an InputError with line 0). */
export function readTexts(files: { ticks?: string; tariffs?: string; fx?: string; jobs: string }): InputTexts {
  const of = (file: string): InputText => ({ file, text: read(file) });
  return {
    jobs: of(files.jobs),
    ...(files.ticks !== undefined && { ticks: of(files.ticks) }),
    ...(files.tariffs !== undefined && { tariffs: of(files.tariffs) }),
    ...(files.fx !== undefined && { fx: of(files.fx) }),
  };
}
