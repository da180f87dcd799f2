import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Accounts, grantTransaction, topUpTransaction } from '#ledger';
import { AppSchema } from '#persistence';
import { postTransaction } from '../journal/journal.writer.js';

const B = AppSchema.Billing;

export interface CustomerFunds {
  readonly customerId: string;
  /** What the customer has prepaid and not spent (credit-normal balance, shown positive). */
  readonly balanceNanoUsd: bigint;
  readonly creditLimitNanoUsd: bigint;
  /** Open holds, less what usage already captured on them. */
  readonly heldNanoUsd: bigint;
  /** balance + credit limit − held: what a new job's worst case must fit in. */
  readonly availableNanoUsd: bigint;
}

/**
 * Customer money: balances, credit limits, top-ups, grants, and the pre-trade hold. A hold is
 * placed under a row lock on the customer's account, so two jobs racing for the same money
 * cannot both pass.
 */
@Injectable()
export class FundsService {
  constructor(private readonly dataSource: DataSource) {}

  async funds(customerId: string, manager: EntityManager = this.dataSource.manager): Promise<CustomerFunds> {
    const [row]: FundsRow[] = await manager.query(
      `SELECT a.credit_limit, a.held, (SELECT balance FROM "${B}".balances WHERE account_id = $1 AND asset = 'USD') AS balance
         FROM (SELECT 1) AS one LEFT JOIN "${B}".accounts a ON a.account_id = $1`,
      [Accounts.customer(customerId)],
    );
    return fundsOf(customerId, row);
  }

  /**
   * Reserves a job's worst case, or says what is available. Idempotent by hold id: placing the
   * same hold again answers as the first time did (held), whatever the balance is now. The
   * customer's account row is locked by the upsert, so concurrent holds of one customer queue
   * for it and none spends money another has reserved.
   *
   * One statement, so one round trip on the path of every job submitted (it was four: begin,
   * upsert, insert, commit). The hold is inserted only when the locked row says the money is
   * there; the `held` it adds is moved by the holds trigger after the statement, as before.
   */
  async placeHold(request: { holdId: string; customerId: string; jobId: string; amountNanoUsd: bigint }): Promise<{ held: boolean; funds: CustomerFunds }> {
    const [row]: (FundsRow & { existing: string | null; placed: boolean })[] = await this.dataSource.query(
      `WITH account AS (
         INSERT INTO "${B}".accounts AS a (account_id, kind, owner_id, asset) VALUES ($1, 'customer', $2, 'USD')
         ON CONFLICT (account_id) DO UPDATE SET kind = a.kind
         RETURNING a.credit_limit, a.held,
                   (SELECT balance FROM "${B}".balances WHERE account_id = $1 AND asset = 'USD') AS balance,
                   (SELECT hold_id FROM "${B}".holds WHERE hold_id = $3) AS existing
       ), placed AS (
         INSERT INTO "${B}".holds (hold_id, customer_id, job_id, amount, status)
         SELECT $3, $2, $4, $5::bigint, 'open' FROM account
          WHERE account.existing IS NULL
            AND -COALESCE(account.balance, 0) + COALESCE(account.credit_limit, 0) - COALESCE(account.held, 0) >= $5::bigint
         RETURNING hold_id
       )
       SELECT account.*, EXISTS (SELECT 1 FROM placed) AS placed FROM account`,
      [Accounts.customer(request.customerId), request.customerId, request.holdId, request.jobId, request.amountNanoUsd.toString()],
    );
    const funds = fundsOf(request.customerId, row);
    if (row?.existing !== null && row?.existing !== undefined) return { held: true, funds };
    if (row?.placed !== true) return { held: false, funds };
    return { held: true, funds: { ...funds, heldNanoUsd: funds.heldNanoUsd + request.amountNanoUsd, availableNanoUsd: funds.availableNanoUsd - request.amountNanoUsd } };
  }

  async voidHold(holdId: string): Promise<boolean> {
    const [, n]: [unknown[], number] = await this.dataSource.query(`UPDATE "${B}".holds SET status = 'voided' WHERE hold_id = $1 AND status = 'open'`, [holdId]);
    return n > 0;
  }

  async topUp(customerId: string, reference: string, amountNanoUsd: bigint, kind: 'top-up' | 'grant'): Promise<{ posted: boolean; funds: CustomerFunds }> {
    return this.dataSource.transaction(async (manager) => {
      await this.openAccount(manager, customerId);
      const tx = kind === 'top-up' ? topUpTransaction(reference, customerId, amountNanoUsd) : grantTransaction(reference, customerId, amountNanoUsd);
      const outcome = await postTransaction(manager, tx, `http:${kind}`);
      if (outcome.kind === 'conflict') return { posted: false, funds: await this.funds(customerId, manager) };
      return { posted: true, funds: await this.funds(customerId, manager) };
    });
  }

  async setCreditLimit(customerId: string, limitNanoUsd: bigint): Promise<CustomerFunds> {
    return this.dataSource.transaction(async (manager) => {
      await this.openAccount(manager, customerId);
      await manager.query(`UPDATE "${B}".accounts SET credit_limit = $2 WHERE account_id = $1`, [Accounts.customer(customerId), limitNanoUsd.toString()]);
      return this.funds(customerId, manager);
    });
  }

  private async openAccount(manager: EntityManager, customerId: string): Promise<void> {
    await manager.query(`INSERT INTO "${B}".accounts (account_id, kind, owner_id, asset) VALUES ($1, 'customer', $2, 'USD') ON CONFLICT DO NOTHING`, [
      Accounts.customer(customerId),
      customerId,
    ]);
  }
}

interface FundsRow {
  credit_limit: string | null;
  held: string | null;
  balance: string | null;
}

function fundsOf(customerId: string, row: FundsRow | undefined): CustomerFunds {
  // Entries are debit-positive; a customer's money is a credit, so its balance is the negation.
  const balance = -BigInt(row?.balance ?? '0');
  const creditLimit = BigInt(row?.credit_limit ?? '0');
  const held = BigInt(row?.held ?? '0');
  return { customerId, balanceNanoUsd: balance, creditLimitNanoUsd: creditLimit, heldNanoUsd: held, availableNanoUsd: balance + creditLimit - held };
}
