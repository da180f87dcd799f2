import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { LedgerTransaction } from '#ledger';
import { transactionHash } from './journal.writer.js';

/** The hash as first written (object, then JSON.stringify): every request_hash stored is of these bytes. */
function reference(tx: LedgerTransaction): string {
  const body = JSON.stringify({
    kind: tx.kind,
    reverses: tx.reverses ?? null,
    refs: Object.fromEntries(Object.entries(tx.refs).sort(([a], [b]) => (a < b ? -1 : 1))),
    lines: tx.lines.map((l) => [l.account, l.asset, l.amount.toString(), l.kind]),
  });
  return createHash('sha256').update(body).digest('hex');
}

describe('transactionHash', () => {
  it('property: hashes exactly the bytes of the canonical JSON, whatever the strings, refs and lines', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const refs = fc.record(
      { jobId: text, allocationId: text, usageId: text, customerId: text, providerId: text },
      { requiredKeys: [] },
    );
    const line = fc.record({ account: text, asset: text, amount: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), kind: fc.constantFrom('compute', 'energy', 'fee', 'grant') });
    const tx = fc.record(
      {
        key: text,
        kind: fc.constantFrom('usage', 'top-up', 'grant', 'reversal', 'invoice-rounding'),
        refs,
        lines: fc.array(line, { maxLength: 7 }),
        reverses: text,
      },
      { requiredKeys: ['key', 'kind', 'refs', 'lines'] },
    );
    fc.assert(
      fc.property(tx, (t) => {
        expect(transactionHash(t as LedgerTransaction)).toBe(reference(t as LedgerTransaction));
      }),
      { numRuns: 2_000 },
    );
  });

  it('leaves out references that are undefined, as JSON does', () => {
    const base: LedgerTransaction = { key: 'k', kind: 'grant', refs: { customerId: 'acme' }, lines: [] };
    expect(transactionHash({ ...base, refs: { customerId: 'acme', jobId: undefined } })).toBe(transactionHash(base));
  });
});
