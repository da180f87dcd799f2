import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { registry } from '#platform';
import { LOGGER } from '#runtime';

/** The pre-trade check of DESIGN.md section 7, as the gateway calls it before queueing a job. */
export interface FundsCheck {
  /**
   * Reserves the job's worst case (quantity × limit + fee) on the customer's available balance
   * (balance + credit − open holds), or says how much is available when it does not cover it.
   */
  reserve(request: { customerId: string; jobId: string; amountNanoUsd: bigint }): Promise<{ ok: true } | { ok: false; availableNanoUsd: bigint }>;
}

export const FUNDS_CHECK = Symbol('spotgrid.funds-check');

const unchecked = new Counter({
  name: 'spotgrid_gateway_funds_unchecked_total',
  help: 'Jobs accepted without a balance check, because no ledger is connected yet',
  registers: [registry],
});

/**
 * The seam, until the billing ledger exists (issue 6): it accepts every job, says so loudly at
 * start-up and counts each one, and the job still records the worst case it would have held
 * (`hold_nano_usd`), so billing can take over the same numbers. It is not a fake balance: no
 * balance is invented; there simply is no check yet, and /metrics shows it.
 */
@Injectable()
export class UncheckedFunds implements FundsCheck, OnApplicationBootstrap {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onApplicationBootstrap(): void {
    this.logger.warn('customer balances are not checked: no billing ledger is connected (jobs record their worst case for it)');
  }

  reserve(): Promise<{ ok: true }> {
    unchecked.inc();
    return Promise.resolve({ ok: true });
  }
}
