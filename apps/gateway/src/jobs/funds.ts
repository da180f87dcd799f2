import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { CONFIG, ProblemException, type Config } from '#runtime';

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

/** How long intake waits for billing before answering 503. */
const BILLING_TIMEOUT_MS = 5_000;
const insufficient = z.object({ availableNanoUsd: z.string().regex(/^-?\d+$/) }).loose();

/**
 * The pre-trade check through billing (DESIGN.md section 7): billing places the hold under a lock
 * on the customer's account, or answers 402 with what is available. The hold id is the job id, so
 * a retried request holds once. Billing unreachable: 503, and nothing is stored.
 */
@Injectable()
export class LedgerFunds implements FundsCheck {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async reserve(request: { customerId: string; jobId: string; amountNanoUsd: bigint }): Promise<{ ok: true } | { ok: false; availableNanoUsd: bigint }> {
    let res: Response;
    try {
      res = await fetch(new URL('/v1/holds', this.config.BILLING_URL), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ holdId: request.jobId, customerId: request.customerId, jobId: request.jobId, amountNanoUsd: request.amountNanoUsd.toString() }),
        signal: AbortSignal.timeout(BILLING_TIMEOUT_MS),
      });
    } catch {
      throw unavailable();
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (res.status === 201) return { ok: true };
    if (res.status === 402) {
      return { ok: false, availableNanoUsd: BigInt(insufficient.safeParse(body).data?.availableNanoUsd ?? '0') };
    }
    throw unavailable();
  }

  async release(jobId: string): Promise<void> {
    const res = await fetch(new URL(`/v1/holds/${encodeURIComponent(jobId)}/void`, this.config.BILLING_URL), { method: 'POST', signal: AbortSignal.timeout(BILLING_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`billing answered ${res.status} to voiding hold ${jobId}`);
  }
}

function unavailable(): ProblemException {
  return new ProblemException({ title: 'unavailable', status: 503, detail: 'the balance check is unavailable; nothing was stored; retry shortly' });
}
