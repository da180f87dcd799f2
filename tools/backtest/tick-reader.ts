import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { Topic, type OfferAttributes } from '#contracts';
import { InputError, offerTickOf, streamLines, type Located, type OfferTick } from './inputs.js';
import { BLOCK_BYTES, blockCount, blockLines, CONTROL_BYTES, readBlock, FIELDS, MAX_HELD, Word, type BlockError, type PostedBlock, type ReaderData } from './tick-blocks.js';

/** How long the replay waits for the reader thread's next block before it gives up on it. */
const STALL_MS = 60_000;
/** How long a stopped reader may take to put down the block it is reading before it is terminated. */
const STOP_MS = 2_000;

/** The reader thread's script, compiled (run from TypeScript sources, as under Jest, there is none). */
const THREAD = new URL('./tick-thread.js', import.meta.url);
const threadCompiled = existsSync(fileURLToPath(THREAD));

/** A block read ahead or by the second thread: its ticks, its line count, and where it stopped. */
interface ReadBlock {
  /** The number its lines were numbered from: 1 when it was read ahead, before the number was known. */
  readonly first: number;
  readonly ticks: readonly Located<OfferTick>[];
  readonly lines: number;
  readonly error: BlockError | undefined;
  /** Read by the second thread, not by this one ahead of its turn. */
  readonly byReader: boolean;
}

/** Block k of a ticks file read on this thread now, with its lines numbered from `first`; returns its line count. */
function* readNow(file: string, bytes: Uint8Array, blockBytes: number, k: number, first: number): Generator<Located<OfferTick>, number> {
  const lines = blockLines(bytes, k, blockBytes);
  for (const { message, line } of streamLines(file, lines, Topic.SpotPrices, first)) yield { message: offerTickOf(message), line };
  return lines.length;
}

/** Block k read on this thread ahead of its turn, exactly as the reader thread reads it. */
function readAhead(file: string, bytes: Uint8Array, blockBytes: number, k: number): ReadBlock {
  const lines = blockLines(bytes, k, blockBytes);
  const ticks: Located<OfferTick>[] = [];
  const error = readBlock(file, lines, (message, line) => ticks.push({ message, line }));
  return { first: 1, ticks, lines: lines.length, error, byReader: false };
}

/** Whether `ticksOf` can read these bytes on two threads: they are shared, large enough to split, and the thread's script is compiled. */
export const twoThreadsFor = (bytes: Uint8Array, blockBytes = BLOCK_BYTES): boolean => threadCompiled && bytes.buffer instanceof SharedArrayBuffer && blockCount(bytes, blockBytes) > 1;

export interface TicksOptions {
  readonly blockBytes?: number;
  /** 1: this thread reads every block. 2 (the default): a second thread reads too, when `twoThreadsFor` the bytes. */
  readonly threads?: 1 | 2;
  /** Filled in as the blocks are taken: how many, and how many of them the second thread read. */
  readonly stats?: { blocks: number; byReader: number };
}

/**
 * The ticks of a file's bytes, in file order, each read and checked with the live contract's
 * parser (`messageOf`, as `streamLines` reads a line), and turned into the offer state the
 * replay applies.
 *
 * With `twoThreadsFor(bytes)`, a second thread (`tick-thread.ts`) reads blocks of the file while
 * this one replays: the reader claims the next block and posts its offer states as numbers. This
 * thread takes the blocks in order; one nobody has claimed yet it reads itself, and while it waits
 * for the reader's it reads ahead (up to MAX_HELD blocks). Either way a tick arrives exactly as
 * one thread alone would have read it, so the replay, and the report, are the same: only who did
 * the reading differs, decided by timing. Waiting for a block blocks (Atomics.wait) rather than
 * awaits, so the replay stays synchronous.
 */
export function* ticksOf(file: string, bytes: Uint8Array, { blockBytes = BLOCK_BYTES, threads = 2, stats }: TicksOptions = {}): Generator<Located<OfferTick>> {
  const blocks = blockCount(bytes, blockBytes);
  const reader = threads === 2 && twoThreadsFor(bytes, blockBytes) ? new ReaderThread(file, bytes, blockBytes) : undefined;
  let first = 1; // the number of the block's first line in the file
  try {
    for (let k = 0; k < blocks; k += 1) {
      const block = reader?.take(k, first);
      if (stats !== undefined) {
        stats.blocks += 1;
        if (block?.byReader === true) stats.byReader += 1;
      }
      if (block === undefined) {
        first += yield* readNow(file, bytes, blockBytes, k, first);
        continue;
      }
      if (block.first === first) yield* block.ticks;
      else for (const { message, line } of block.ticks) yield { message, line: first + line - 1 };
      if (block.error !== undefined) {
        if (block.error.input) throw new InputError(file, first + block.error.line - 1, block.error.detail);
        throw new Error(`the ticks reader thread failed: ${block.error.detail}`);
      }
      first += block.lines;
    }
  } finally {
    reader?.stop();
  }
}

/** A reader thread free to read another file: one is kept, so that a process that backtests again has it loaded and compiled. */
let idle: Worker | undefined;

function readerThread(): Worker {
  const worker = idle ?? new Worker(THREAD);
  idle = undefined;
  if (worker.listenerCount('exit') === 0) {
    // A failure inside the thread is posted with its block; these only keep an unexpected exit
    // from being an unhandled error event, and a dead thread from being kept.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (idle === worker) idle = undefined;
    });
    // Kept or working, it never holds the process open.
    worker.unref();
  }
  return worker;
}

/** The second reader of one file: the thread and the shared words. */
class ReaderThread {
  private readonly words: Int32Array;
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private readonly blocks: number;
  /** Blocks this thread read ahead for itself, by number. */
  private readonly held = new Map<number, ReadBlock>();
  private received = 0;

  constructor(
    private readonly file: string,
    private readonly bytes: Uint8Array,
    private readonly blockBytes: number,
  ) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.words = new Int32Array(control);
    this.blocks = blockCount(bytes, blockBytes);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const job: ReaderData = { file, bytes, blockBytes, control };
    this.worker = readerThread();
    this.worker.postMessage({ job, port: port2 }, [port2]);
  }

  /** Block k, the next in order: read ahead here, or the reader thread's; undefined when this thread is to read it now (claimed). */
  take(k: number, first: number): ReadBlock | undefined {
    const w = this.words;
    try {
      const ahead = this.held.get(k);
      if (ahead !== undefined) {
        this.held.delete(k);
        return ahead;
      }
      if (Atomics.compareExchange(w, Word.Claimed, k, k + 1) === k) return undefined;
      // The reader has it; its blocks come in the order it claimed them, and every earlier one is taken.
      for (;;) {
        const got = receiveMessageOnPort(this.port);
        if (got !== undefined) {
          this.received += 1;
          return this.decode(got.message as PostedBlock, k, first);
        }
        const next = Atomics.load(w, Word.Claimed);
        if (next < this.blocks && next - k <= MAX_HELD && Atomics.compareExchange(w, Word.Claimed, next, next + 1) === next) {
          this.held.set(next, readAhead(this.file, this.bytes, this.blockBytes, next));
          continue;
        }
        if (Atomics.wait(w, Word.Posted, this.received, STALL_MS) === 'timed-out') throw new Error(`the ticks reader thread posted nothing for ${STALL_MS / 1_000} s`);
      }
    } finally {
      Atomics.store(w, Word.Taken, k + 1);
      Atomics.notify(w, Word.Taken);
    }
  }

  /**
   * Tells the thread to stop claiming; once it has put down its block, it is kept for the next
   * file. One that never took this file up (it failed to start, or died) is let go at once: this
   * thread has read every block itself.
   */
  stop(): void {
    const w = this.words;
    Atomics.store(w, Word.Stop, 1);
    Atomics.notify(w, Word.Taken);
    this.port.close();
    const done = Atomics.load(w, Word.Accepted) === 1 && Atomics.wait(w, Word.Done, 0, STOP_MS) !== 'timed-out';
    if (done && idle === undefined) idle = this.worker;
    else void this.worker.terminate();
  }

  private decode(posted: PostedBlock, k: number, first: number): ReadBlock {
    if (posted.block !== k) throw new Error(`the ticks reader thread posted block ${posted.block} where ${k} was due`);
    const { nums, count, strings } = posted;
    // Each distinct attribute set is parsed once, and its ticks share the object (nothing mutates one).
    const attributes: (OfferAttributes | undefined)[] = [];
    const attributesOf = (n: number) => (attributes[n] ??= JSON.parse(strings[n] as string) as OfferAttributes);
    const ticks = new Array<Located<OfferTick>>(count);
    for (let i = 0; i < count; i += 1) {
      const o = i * FIELDS;
      const state = {
        providerId: strings[nums[o + 6] as number] as string,
        offerId: strings[nums[o + 7] as number] as string,
        lastSeq: nums[o + 2] as number,
        instrument: strings[nums[o + 8] as number] as string,
        region: strings[nums[o + 9] as number] as string,
        gridZone: strings[nums[o + 10] as number] as string,
        price: strings[nums[o + 11] as number] as string,
        currency: strings[nums[o + 12] as number] as string,
        energyKwhPerUnit: strings[nums[o + 13] as number] as string,
        energyIncluded: nums[o + 5] === 1,
        capacity: strings[nums[o + 14] as number] as string,
        validFrom: nums[o + 3] as number,
        validUntil: nums[o + 4] as number,
        attributes: attributesOf(nums[o + 15] as number),
      };
      ticks[i] = { message: { at: nums[o + 1] as number, state }, line: first + (nums[o] as number) - 1 };
    }
    return { first, ticks, lines: posted.lines, error: posted.error, byReader: true };
  }
}
