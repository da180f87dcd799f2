import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Topic } from '#contracts';
import { InputError, offerTickOf, streamLines } from './inputs.js';
import { blockCount, blockLines } from './tick-blocks.js';
import { ticksOf, twoThreadsFor } from './tick-reader.js';

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

/** What `text.split('\n')` gives as lines, without the empty rest after a final newline. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (text === '' || text.endsWith('\n')) lines.pop();
  return lines;
}

describe('a file cut into blocks', () => {
  it('gives every line once, whole and in order, whatever the block size, with multi-byte text and lines longer than a block', () => {
    const line = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constant(''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), (lines, newlineAtEnd, blockBytes) => {
        const text = lines.map((l) => l.replaceAll('\n', ' ')).join('\n') + (newlineAtEnd && lines.length > 0 ? '\n' : '');
        const bytes = bytesOf(text);
        const read: string[] = [];
        for (let k = 0; k < blockCount(bytes, blockBytes); k += 1) read.push(...blockLines(bytes, k, blockBytes));
        expect(read).toEqual(linesOf(text));
      }),
      { numRuns: 2_000 },
    );
  });
});

const tick = (seq: number, o: Record<string, unknown> = {}) =>
  JSON.stringify({
    providerId: `prov-${seq % 3}`,
    offerId: `offer-${seq % 5}`,
    seq,
    instrument: 'gpu:h100',
    region: `region-${seq % 4}`,
    gridZone: 'zone-a',
    price: `1.${seq}`,
    currency: seq % 2 === 0 ? 'USD' : 'EUR',
    energyKwhPerUnit: '0.7',
    energyIncluded: seq % 3 === 0,
    capacity: String(seq),
    validFrom: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
    validUntil: new Date(Date.UTC(2026, 0, 1, 1, seq)).toISOString(),
    attributes: { tier: 'spot', interruptible: seq % 2 === 0, dataPolicy: 'no-retention', hardware: seq % 4 === 0 ? 'h100' : 'h200' },
    publishedAt: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
    ...o,
  });

describe('ticks read in blocks', () => {
  // Blank lines, an envelope, and blocks far smaller than a line: numbering runs across blocks.
  const lines = Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? '' : i % 11 === 5 ? JSON.stringify({ topic: Topic.SpotPrices, message: JSON.parse(tick(i)) }) : tick(i)));
  const text = lines.join('\n');

  it('gives the same offer states, with the same line numbers, as reading the text line by line', () => {
    const expected = [...streamLines('ticks', text, Topic.SpotPrices)].map(({ message, line }) => ({ message: offerTickOf(message), line }));
    for (const blockBytes of [1, 100, 1_000, 1 << 20]) {
      const stats = { blocks: 0, byReader: 0 };
      expect([...ticksOf('ticks', bytesOf(text), { blockBytes, stats })]).toEqual(expected);
      expect(stats.blocks).toBe(blockCount(bytesOf(text), blockBytes));
    }
  });

  it('stops at a bad line in a later block, numbered in the file, after every tick before it', () => {
    const bad = [...lines.slice(0, 40), '{"providerId": "p"}', ...lines.slice(40)].join('\n');
    const read: number[] = [];
    const iterate = () => {
      for (const { line } of ticksOf('ticks.jsonl', bytesOf(bad), { blockBytes: 200 })) read.push(line);
    };
    expect(iterate).toThrow(InputError);
    expect(iterate).toThrow(/^ticks\.jsonl:41: /);
    expect(Math.max(...read)).toBe(40);
  });

  it('reads on this thread alone when the bytes are not shared memory (a second thread would need a copy)', () => {
    expect(twoThreadsFor(bytesOf(text), 1)).toBe(false);
  });
});
