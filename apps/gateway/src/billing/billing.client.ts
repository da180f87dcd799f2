import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, ProblemException, type Config } from '#runtime';

/** How long the gateway waits for billing before answering 503. */
const BILLING_TIMEOUT_MS = 5_000;

export interface BillingAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Billing's internal HTTP API, as the gateway calls it: with the service token (billing answers
 * nobody else), a timeout, and 503 when billing cannot be reached or fails, so callers never see
 * billing's 5xx as the gateway's.
 */
@Injectable()
export class BillingClient {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<BillingAnswer> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.config.BILLING_URL), {
        method,
        headers: { authorization: `Bearer ${this.config.SERVICE_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(BILLING_TIMEOUT_MS),
      });
    } catch {
      throw unavailable();
    }
    const answer: unknown = await res.json().catch(() => undefined);
    if (res.status >= 500 || res.status === 401) throw unavailable();
    return { status: res.status, body: answer };
  }

  /** Billing's answer as the gateway's: its 2xx body, or its 4xx problem passed on as is. */
  async relay(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    const answer = await this.call(method, path, body);
    if (answer.status < 400) return answer.body;
    const p = (answer.body ?? {}) as { title?: unknown; detail?: unknown };
    throw new ProblemException({
      title: typeof p.title === 'string' ? p.title : 'rejected by billing',
      status: answer.status,
      ...(typeof p.detail === 'string' ? { detail: p.detail } : {}),
    });
  }
}

export function unavailable(): ProblemException {
  return new ProblemException({ title: 'unavailable', status: 503, detail: 'billing is unavailable; nothing was changed; retry shortly' });
}
