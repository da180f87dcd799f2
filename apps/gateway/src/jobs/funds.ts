import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ProblemException } from '#runtime';
import { BillingClient } from '../billing/billing.client.js';

/** The pre-trade check of DESIGN.md section 7, as the gateway calls it before queueing a job. */
export interface FundsCheck {
  /**
   * Reserves the job's worst case (quantity × limit + fee) on the customer's available balance
   * (balance + credit − open holds), or says how much is available when it does not cover it.
   */
  reserve(request: { customerId: string; jobId: string; amountNanoUsd: bigint }): Promise<{ ok: true } | { ok: false; availableNanoUsd: bigint }>;
  /** Gives back a reservation whose job was not stored after all. */
  release(jobId: string): Promise<void>;
}

export const FUNDS_CHECK = Symbol('spotgrid.funds-check');

const insufficient = z.object({ availableNanoUsd: z.string().regex(/^-?\d+$/) }).loose();

/**
 * The pre-trade check through billing (DESIGN.md section 7): billing places the hold under a lock
 * on the customer's account, or answers 402 with what is available. The hold id is the job id, so
 * a retried request holds once. Billing unreachable: 503, and nothing is stored.
 */
@Injectable()
export class LedgerFunds implements FundsCheck {
  constructor(private readonly billing: BillingClient) {}

  async reserve(request: { customerId: string; jobId: string; amountNanoUsd: bigint }): Promise<{ ok: true } | { ok: false; availableNanoUsd: bigint }> {
    const res = await this.billing
      .call('POST', '/v1/holds', { holdId: request.jobId, customerId: request.customerId, jobId: request.jobId, amountNanoUsd: request.amountNanoUsd.toString() })
      .catch(() => {
        throw unavailable();
      });
    if (res.status === 201) return { ok: true };
    if (res.status === 402) return { ok: false, availableNanoUsd: BigInt(insufficient.safeParse(res.body).data?.availableNanoUsd ?? '0') };
    throw unavailable();
  }

  async release(jobId: string): Promise<void> {
    const res = await this.billing.call('POST', `/v1/holds/${encodeURIComponent(jobId)}/void`);
    if (res.status !== 200) throw new Error(`billing answered ${res.status} to voiding hold ${jobId}`);
  }
}

function unavailable(): ProblemException {
  return new ProblemException({ title: 'unavailable', status: 503, detail: 'the balance check is unavailable; nothing was stored; retry shortly' });
}
