import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { FundsService } from './funds.service.js';

/** Pre-trade holds on the real PostgreSQL: what the single statement placing them must keep. */
describe('pre-trade holds (PostgreSQL)', () => {
  let db: DataSource;
  let funds: FundsService;

  beforeAll(async () => {
    // The pool's connections let the holds below run at the same time, each on its own.
    db = await createDataSource(loadConfig(), { applicationName: 'funds-int-spec', entities: [] }).initialize();
    funds = new FundsService(db);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('never reserves more than is available when holds of one customer race, and places each hold id once', async () => {
    const customer = `race-${randomUUID().slice(0, 8)}`;
    const unit = 1_000_000_000n;
    await funds.topUp(customer, `topup-${customer}`, 10n * unit, 'top-up');
    const holds = Array.from({ length: 16 }, () => randomUUID());
    const results = await Promise.all(holds.map((id) => funds.placeHold({ holdId: id, customerId: customer, jobId: id, amountNanoUsd: unit })));
    expect(results.filter((r) => r.held)).toHaveLength(10);
    const after = await funds.funds(customer);
    expect(after.heldNanoUsd).toBe(10n * unit);
    expect(after.availableNanoUsd).toBe(0n);
    const [{ n }] = (await db.query(`SELECT count(*)::int AS n FROM billing.holds WHERE customer_id = $1 AND status = 'open'`, [customer])) as [{ n: number }];
    expect(n).toBe(10);

    // Placing a hold again answers as the first time did, whatever is available now.
    const placed = holds[results.findIndex((r) => r.held)] as string;
    const again = await funds.placeHold({ holdId: placed, customerId: customer, jobId: placed, amountNanoUsd: unit });
    expect(again.held).toBe(true);
    expect((await funds.funds(customer)).heldNanoUsd).toBe(10n * unit);
    const refused = holds[results.findIndex((r) => !r.held)] as string;
    expect((await funds.placeHold({ holdId: refused, customerId: customer, jobId: refused, amountNanoUsd: unit })).held).toBe(false);
  });

  it('opens the account of a customer seen for the first time, and refuses a hold it cannot cover', async () => {
    const customer = `new-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const result = await funds.placeHold({ holdId: id, customerId: customer, jobId: id, amountNanoUsd: 1n });
    expect(result).toEqual({ held: false, funds: { customerId: customer, balanceNanoUsd: 0n, creditLimitNanoUsd: 0n, heldNanoUsd: 0n, availableNanoUsd: 0n } });
    const rows = await db.query(`SELECT kind, owner_id FROM billing.accounts WHERE account_id = $1`, [`customer:${customer}`]);
    expect(rows).toEqual([{ kind: 'customer', owner_id: customer }]);
  });
});
