/**
 * The ticks file's second reader, on a thread of its own (see `tick-reader.ts`). For each file it
 * is given, it claims blocks, reads each as the replay's thread would (the live contract's parser,
 * then market-data's `offerStateOf`), and posts the offer states as numbers, each string once per block.
 * Then it waits for the next file: a process that backtests again reuses a thread already loaded
 * and compiled.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { OfferAttributes } from '#contracts';
import type { OfferState } from '#market';
import { blockCount, blockLines, FIELDS, MAX_AHEAD, readBlock, Word, type BlockError, type PostedBlock, type ReaderData } from './tick-blocks.js';

/** The same attribute set: the same keys, each with the same value (they are flat; a nested value would only compare unequal, and be sent again). */
function sameAttributes(a: OfferAttributes, b: OfferAttributes): boolean {
  let keys = 0;
  for (const k in a) {
    if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k]) return false;
    keys += 1;
  }
  for (const _ in b) keys -= 1;
  return keys === 0;
}

/** One offer's last state as sent, and its strings' numbers: most fields repeat, and a repeat costs a compare, not a lookup. */
interface Sent {
  state: OfferState;
  readonly numbers: Float64Array;
}

/** The reading of one file. */
class FileReader {
  private readonly words: Int32Array;
  /**
   * The strings of the block being read, by number; the block carries them in that order. Numbered
   * afresh in each block, so that neither thread holds more than a block's worth of a feed whose
   * prices are seldom twice the same.
   */
  private readonly numbers = new Map<string, number>();
  private strings: string[] = [];
  /** Each offer's last tick in the block being read. */
  private readonly sent = new Map<string, Map<string, Sent>>();

  constructor(
    private readonly job: ReaderData,
    private readonly port: MessagePort,
  ) {
    this.words = new Int32Array(job.control);
  }

  run(): void {
    const { words } = this;
    const blocks = blockCount(this.job.bytes, this.job.blockBytes);
    for (;;) {
      // Never more than MAX_AHEAD blocks ahead of the replay, so that memory stays flat.
      const taken = Atomics.load(words, Word.Taken);
      if (Atomics.load(words, Word.Stop) === 1) return;
      if (Atomics.load(words, Word.Claimed) >= taken + MAX_AHEAD) {
        Atomics.wait(words, Word.Taken, taken, 1_000);
        continue;
      }
      const k = Atomics.add(words, Word.Claimed, 1);
      if (k >= blocks || !this.readAndPost(k)) return;
    }
  }

  /** Reads block k and posts it; false when it stopped at a bad line (the replay stops there too). */
  private readAndPost(k: number): boolean {
    const { file, bytes, blockBytes } = this.job;
    let lines: string[] = [];
    let nums = new Float64Array(0);
    let count = 0;
    let error: BlockError | undefined;
    try {
      lines = blockLines(bytes, k, blockBytes);
      const into = new Float64Array(lines.length * FIELDS); // at most one tick a line
      nums = into;
      error = readBlock(file, lines, ({ at, state }, line) => {
        this.encode(line, at, state, into, count * FIELDS);
        count += 1;
      });
    } catch (e) {
      // Not the input's fault: the replay stops with this thread's failure.
      error = { line: 0, detail: (e as Error).stack ?? String(e), input: false };
    }
    const block: PostedBlock = { block: k, lines: lines.length, count, nums, strings: this.strings, ...(error && { error }) };
    this.strings = [];
    this.numbers.clear();
    this.sent.clear();
    this.port.postMessage(block, [nums.buffer as ArrayBuffer]);
    Atomics.add(this.words, Word.Posted, 1);
    Atomics.notify(this.words, Word.Posted);
    return error === undefined;
  }

  private numberOf(s: string): number {
    let n = this.numbers.get(s);
    if (n === undefined) {
      n = this.numbers.size;
      this.numbers.set(s, n);
      this.strings.push(s);
    }
    return n;
  }

  /**
   * A tick's numbers, in FIELDS: its line in the block, when it was published, then the state's
   * seq, validity and energyIncluded, then the numbers of its strings (providerId, offerId,
   * instrument, region, gridZone, price, currency, energyKwhPerUnit, capacity, and the attributes
   * as JSON).
   */
  private encode(line: number, at: number, s: OfferState, nums: Float64Array, o: number): void {
    nums[o] = line;
    nums[o + 1] = at;
    nums[o + 2] = s.lastSeq;
    nums[o + 3] = s.validFrom;
    nums[o + 4] = s.validUntil;
    nums[o + 5] = s.energyIncluded ? 1 : 0;
    let offers = this.sent.get(s.providerId);
    if (offers === undefined) this.sent.set(s.providerId, (offers = new Map()));
    const last = offers.get(s.offerId);
    if (last === undefined) {
      const strings = Float64Array.of(
        this.numberOf(s.providerId),
        this.numberOf(s.offerId),
        this.numberOf(s.instrument),
        this.numberOf(s.region),
        this.numberOf(s.gridZone),
        this.numberOf(s.price),
        this.numberOf(s.currency),
        this.numberOf(s.energyKwhPerUnit),
        this.numberOf(s.capacity),
        this.numberOf(JSON.stringify(s.attributes)),
      );
      offers.set(s.offerId, { state: s, numbers: strings });
      nums.set(strings, o + 6);
      return;
    }
    const p = last.state;
    const strings = last.numbers;
    if (s.instrument !== p.instrument) strings[2] = this.numberOf(s.instrument);
    if (s.region !== p.region) strings[3] = this.numberOf(s.region);
    if (s.gridZone !== p.gridZone) strings[4] = this.numberOf(s.gridZone);
    if (s.price !== p.price) strings[5] = this.numberOf(s.price);
    if (s.currency !== p.currency) strings[6] = this.numberOf(s.currency);
    if (s.energyKwhPerUnit !== p.energyKwhPerUnit) strings[7] = this.numberOf(s.energyKwhPerUnit);
    if (s.capacity !== p.capacity) strings[8] = this.numberOf(s.capacity);
    if (!sameAttributes(s.attributes, p.attributes)) strings[9] = this.numberOf(JSON.stringify(s.attributes));
    last.state = s;
    nums.set(strings, o + 6);
  }
}

// One file at a time, each with its own channel and shared words; done is said in the words.
parentPort?.on('message', ({ job, port }: { job: ReaderData; port: MessagePort }) => {
  Atomics.store(new Int32Array(job.control), Word.Accepted, 1);
  try {
    new FileReader(job, port).run();
  } finally {
    port.close();
    const words = new Int32Array(job.control);
    Atomics.store(words, Word.Done, 1);
    Atomics.notify(words, Word.Done);
  }
});
