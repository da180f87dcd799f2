/** One request of a job's work, as the customer gave it (an OpenAI batch line). */
export interface WorkRequest {
  readonly index: number;
  readonly customId: string;
  readonly url: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Where a piece of work sits: which allocation, and its place among the allocation's pieces. */
export interface RunContext {
  readonly allocationId: string;
  readonly providerId: string;
  /** 0-based position of this request within the allocation's requests, and their number. */
  readonly ordinal: number;
  readonly total: number;
}

/**
 * What became of one request:
 * - `succeeded`: the provider answered; its `usage` is what gets metered;
 * - `failed`: the provider refused the request itself (a 4xx other than 429): final, not retried;
 * - `provider-failed`: the provider could not serve it after every retry: the allocation stops and
 *   its unfinished work goes elsewhere;
 * - `preempted`: the provider took the capacity back.
 */
export type RequestOutcome =
  | {
      readonly kind: 'succeeded';
      readonly statusCode: number;
      readonly body: unknown;
      readonly inputTokens: bigint;
      readonly outputTokens: bigint;
      readonly startedAt: Date;
      readonly endedAt: Date;
    }
  | { readonly kind: 'failed'; readonly statusCode: number | null; readonly error: string; readonly startedAt: Date; readonly endedAt: Date }
  | { readonly kind: 'provider-failed'; readonly reason: string }
  | { readonly kind: 'preempted'; readonly reason: string };

/** What became of GPU time: the seconds actually run (metered), and why it stopped early if it did. */
export interface GpuOutcome {
  readonly kind: 'completed' | 'preempted' | 'provider-failed';
  readonly gpuSeconds: bigint;
  readonly energyKwh: string | null;
  readonly reason: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

/** A provider, as the dispatcher drives it. Adapters hold no state about jobs: the dispatcher keeps it. */
export interface ProviderAdapter {
  runRequest(ctx: RunContext, request: WorkRequest, signal: AbortSignal): Promise<RequestOutcome>;
  /** Runs `gpuSeconds` of GPU time (the allocation's quantity in seconds). */
  runGpu(ctx: RunContext, gpuSeconds: bigint, signal: AbortSignal): Promise<GpuOutcome>;
}

/** Waits `ms`, or less when `signal` aborts (a stopping dispatcher does not sit out a back-off). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
