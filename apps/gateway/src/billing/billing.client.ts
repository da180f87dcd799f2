import http from 'node:http';
import https from 'node:https';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, ProblemException, type Config } from '#runtime';

/** How long the gateway waits for billing before answering 503. */
const BILLING_TIMEOUT_MS = 5_000;

interface RawAnswer {
  readonly status: number;
  readonly text: string;
}

export interface BillingAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Billing's internal HTTP API, as the gateway calls it: with the service token (billing answers
 * nobody else), a timeout, and 503 when billing cannot be reached or fails, so callers never see
 * billing's 5xx as the gateway's.
 *
 * Through node:http with kept-alive connections, not `fetch`: every job's pre-trade hold comes
 * this way, and in bench:match's profile of the gateway `fetch` (undici's web streams, abort
 * signals, a Response per call) was the largest single item under job intake (decision 0014).
 */
@Injectable()
export class BillingClient implements OnApplicationShutdown {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(@Inject(CONFIG) private readonly config: Config) {
    this.base = new URL(config.BILLING_URL);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 64 });
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  async call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<BillingAnswer> {
    let res: RawAnswer;
    try {
      res = await this.send(method, new URL(path, this.base), body === undefined ? undefined : JSON.stringify(body));
    } catch {
      throw unavailable();
    }
    let answer: unknown;
    try {
      answer = res.text === '' ? undefined : JSON.parse(res.text);
    } catch {
      answer = undefined;
    }
    if (res.status >= 500 || res.status === 401) throw unavailable();
    return { status: res.status, body: answer };
  }

  /**
   * One request; once more when a kept-alive connection turns out closed by billing before it
   * read anything (the race Node's documentation describes for `reusedSocket`). Billing's calls are
   * idempotent by their ids and references, so even a doubtful second send changes nothing twice.
   */
  private async send(method: string, url: URL, body: string | undefined, retried = false): Promise<RawAnswer> {
    try {
      return await this.once(method, url, body);
    } catch (error) {
      if (!retried && (error as { reused?: boolean }).reused === true) return this.send(method, url, body, true);
      throw error;
    }
  }

  private once(method: string, url: URL, body: string | undefined): Promise<RawAnswer> {
    return new Promise<RawAnswer>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${this.config.SERVICE_TOKEN}` };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = this.transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      const timer = setTimeout(() => req.destroy(new Error(`billing did not answer within ${BILLING_TIMEOUT_MS} ms`)), BILLING_TIMEOUT_MS);
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(Object.assign(error, { reused: req.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' }));
      }
      req.on('error', fail);
      req.end(body);
    });
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
