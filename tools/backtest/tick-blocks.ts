import { Buffer, isAscii } from 'node:buffer';
import { Topic } from '#contracts';
import { InputError, lineParser, messageOf, offerTickOf, type OfferTick } from './inputs.js';

/**
 * A ticks file cut into blocks that two threads read at once (`tick-reader.ts`). Block k starts
 * just after the first newline at or after byte k × blockBytes − 1 and runs to the next block's
 * start, so a line is never split, and either thread finds any block's bounds on its own. A
 * newline byte is never part of a longer UTF-8 sequence, so each block decodes alone.
 */
export const BLOCK_BYTES = 1 << 20;

export const blockCount = (bytes: Uint8Array, blockBytes = BLOCK_BYTES): number => Math.ceil(bytes.length / blockBytes);

function blockStart(bytes: Buffer, k: number, blockBytes: number): number {
  if (k === 0) return 0;
  const from = k * blockBytes - 1;
  if (from >= bytes.length) return bytes.length;
  const newline = bytes.indexOf(10, from);
  return newline === -1 ? bytes.length : newline + 1;
}

/** Block k's lines, in order (a block of only a long line's tail has none: that line is the block's before). */
export function blockLines(bytes: Uint8Array, k: number, blockBytes = BLOCK_BYTES): string[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = blockStart(buffer, k, blockBytes);
  const end = blockStart(buffer, k + 1, blockBytes);
  if (end <= start) return [];
  // Feeds are nearly always ASCII, which Latin-1 decodes to the same string four times faster
  // than UTF-8 does; checking costs a small fraction of either.
  const text = buffer.toString(isAscii(buffer.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
  const lines = text.split('\n');
  // A block ends just after a newline (all but perhaps the file's last): what follows it is not a line.
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

const parser = lineParser(Topic.SpotPrices);

/**
 * A block's ticks, read as `streamLines` reads lines (here numbered within the block) and turned
 * into offer states, each handed to `each` in order; the first bad line stops it, and is returned.
 * Both threads read a block with this, one line at a time, without a generator or an object a line.
 */
export function readBlock(file: string, lines: readonly string[], each: (tick: OfferTick, line: number) => void): BlockError | undefined {
  let line = 0;
  try {
    for (; line < lines.length; line += 1) {
      const tick = messageOf(file, line + 1, lines[line] as string, Topic.SpotPrices, parser);
      if (tick !== undefined) each(offerTickOf(tick), line + 1);
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { line: e.line, detail: e.detail, input: true };
  }
  return undefined;
}

// ---- the two threads' protocol ----------------------------------------------------------------

/** Numbers per tick in a posted block: its line in the block, then see `tick-thread.ts`. */
export const FIELDS = 16;
/** Blocks the reader thread may claim ahead of the last one the replay took. */
export const MAX_AHEAD = 8;
/** Blocks the replay's thread may read ahead for itself while it waits for the reader's. */
export const MAX_HELD = 2;

/** The shared words, indices into an Int32Array over `ReaderData.control`. */
export const Word = {
  /** The next block nobody has claimed: the replay's thread claims one with a compare-and-swap, the reader with an add. */
  Claimed: 0,
  /** Blocks the reader thread has posted. */
  Posted: 1,
  /** Blocks the replay has taken, in order. */
  Taken: 2,
  /** 1 once the replay needs no more blocks. */
  Stop: 3,
  /** 1 once the reader thread has taken the file up (a thread that failed to start never does). */
  Accepted: 4,
  /** 1 once the reader thread is done with the file, and free to read another. */
  Done: 5,
} as const;
export const CONTROL_BYTES = 24;

/** A bad line of a block: its line within the block, and what is wrong with it. */
export interface BlockError {
  readonly line: number;
  readonly detail: string;
  /** False for a failure of the reader itself rather than of the input. */
  readonly input: boolean;
}

/** One block as the reader thread posts it. */
export interface PostedBlock {
  readonly block: number;
  /** Lines in the block (blank ones included), to number the next block's. */
  readonly lines: number;
  readonly count: number;
  readonly nums: Float64Array;
  /** The block's strings, which its ticks name by their index. */
  readonly strings: readonly string[];
  /** The block's first bad line: its ticks before that line are in `nums`, and the reader stopped there. */
  readonly error?: BlockError;
}

export interface ReaderData {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly blockBytes: number;
  readonly control: SharedArrayBuffer;
}
