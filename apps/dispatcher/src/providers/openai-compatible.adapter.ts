import type { OpenAiCompatibleSettings } from './provider-config.js';
import { abortableSleep, type GpuOutcome, type ProviderAdapter, type RequestOutcome, type RunContext, type WorkRequest } from './adapter.js';

/** The most of an error body kept as the request's reason. */
const MAX_ERROR_CHARS = 500;

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Tokens from an answer's `usage`, in the chat/completions or the responses API's names. */
export function tokensOf(body: unknown): { input: bigint; output: bigint } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const usage = (body as { usage?: unknown }).usage;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const u = usage as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined);
  const input = count(u['prompt_tokens']) ?? count(u['input_tokens']);
  const output = count(u['completion_tokens']) ?? count(u['output_tokens']) ?? (input !== undefined ? 0n : undefined);
  return input === undefined || output === undefined ? undefined : { input, output };
}

/**
 * A provider that speaks the OpenAI HTTP API. Each request is POSTed to the provider's base URL
 * with its key; tokens are read from the answer's `usage`. 429 and 5xx answers, timeouts, broken
 * connections and unreadable bodies are retried with exponential back-off (Retry-After when the
 * provider says how long); after the last retry the provider is given up on for this allocation.
 * Any other 4xx is the request's own fault: it fails, with the provider's message, and the rest go on.
 */
export class OpenAiCompatibleAdapter implements ProviderAdapter {
  private readonly base: string;
  private readonly apiKey: string | undefined;

  constructor(
    private readonly s: OpenAiCompatibleSettings,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.base = s.baseUrl.replace(/\/+$/, '');
    this.apiKey = s.apiKeyEnv === undefined ? undefined : env[s.apiKeyEnv];
  }

  /** The base URL may end in /v1 (as OpenAI's does) or not; the request's path starts with /v1. */
  urlOf(path: string): string {
    return this.base.endsWith('/v1') && path.startsWith('/v1/') ? `${this.base}${path.slice(3)}` : `${this.base}${path}`;
  }

  async runRequest(ctx: RunContext, request: WorkRequest, signal: AbortSignal): Promise<RequestOutcome> {
    const startedAt = new Date();
    let lastProblem = 'no attempt made';
    /** What the provider asked us to wait (Retry-After) before the next attempt. */
    let waitMs: number | undefined;
    for (let attempt = 0; attempt <= this.s.maxRetries; attempt += 1) {
      if (attempt > 0) {
        await abortableSleep(Math.min(this.s.maxBackoffMs, waitMs ?? this.s.backoffMs * 2 ** (attempt - 1)), signal);
        waitMs = undefined;
      }
      if (signal.aborted) return { kind: 'preempted', reason: 'stopped before the request finished' };
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.urlOf(request.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` }),
            // Lets a provider that supports it drop a duplicate after our own retry.
            'idempotency-key': `${ctx.allocationId}:${request.index}`,
          },
          body: JSON.stringify(request.body),
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.s.timeoutMs)]),
        });
        text = await res.text();
      } catch (error) {
        if (signal.aborted) return { kind: 'preempted', reason: 'stopped before the request finished' };
        const e = error as Error;
        lastProblem = e.name === 'TimeoutError' ? `no answer within ${this.s.timeoutMs} ms` : `connection failed: ${e.message}`;
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        waitMs = retryAfterMs(res.headers.get('retry-after'));
        lastProblem = `answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        continue;
      }
      if (res.status >= 400) {
        return { kind: 'failed', statusCode: res.status, error: errorMessageOf(text, res.status), startedAt, endedAt: new Date() };
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        lastProblem = `answered ${res.status} with a body that is not JSON`;
        continue;
      }
      const tokens = tokensOf(body);
      if (tokens === undefined) {
        lastProblem = `answered ${res.status} without a readable usage`;
        continue;
      }
      return { kind: 'succeeded', statusCode: res.status, body, inputTokens: tokens.input, outputTokens: tokens.output, startedAt, endedAt: new Date() };
    }
    return { kind: 'provider-failed', reason: `${ctx.providerId} ${lastProblem} (after ${this.s.maxRetries + 1} attempts)` };
  }

  runGpu(ctx: RunContext): Promise<GpuOutcome> {
    const now = new Date();
    return Promise.resolve({
      kind: 'provider-failed',
      gpuSeconds: 0n,
      energyKwh: null,
      reason: `${ctx.providerId} is an OpenAI-compatible endpoint: it runs requests, not GPU-hours`,
      startedAt: now,
      endedAt: now,
    });
  }
}

function errorMessageOf(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string };
    const message = typeof body.error === 'string' ? body.error : body.error?.message;
    if (typeof message === 'string') return `${status}: ${message.slice(0, MAX_ERROR_CHARS)}`;
  } catch {
    // not JSON: keep the text
  }
  return `${status}: ${text.slice(0, MAX_ERROR_CHARS) || 'no message'}`;
}
