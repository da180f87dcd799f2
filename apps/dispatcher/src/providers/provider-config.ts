import { z } from 'zod';
import { identifier } from '#contracts';

/** Limits every adapter shares: allocations run at once, requests in flight per allocation, requests per second. */
const limits = {
  /** Allocations of this provider run at once (the BullMQ worker's concurrency). */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Requests of one allocation in flight at once. */
  requestConcurrency: z.number().int().min(1).max(256).default(8),
  /** Requests per second to this provider across its allocations, per dispatcher process; 0 = no limit. */
  requestsPerSecond: z.number().min(0).max(100_000).default(0),
  /** Allocations started per second on this provider across every dispatcher (BullMQ's limiter, in Redis); 0 = no limit. */
  allocationsPerSecond: z.number().int().min(0).max(100_000).default(0),
};

const simulated = z
  .object({
    adapter: z.literal('simulated'),
    ...limits,
    /** Time one request takes, and the spread around it (deterministic per request). */
    latencyMs: z.number().min(0).max(60_000).default(5),
    jitterMs: z.number().min(0).max(60_000).default(0),
    /** Share of request attempts answered with a 500 (retried like a real provider's). */
    failureRate: z.number().min(0).max(1).default(0),
    /** Share of allocations preempted part-way. */
    preemptionRate: z.number().min(0).max(1).default(0),
    /** Wall time of one GPU-hour of work (a demo runs hours in seconds). */
    secondsPerGpuHour: z.number().min(0).max(3_600).default(0.2),
    /** Energy the simulated hardware reports per GPU-hour. */
    energyKwhPerGpuHour: z.string().regex(/^\d+(\.\d{1,6})?$/).default('0.7'),
    /** Changes every draw, so two simulated providers do not fail in lockstep. */
    seed: z.string().max(100).default('spotgrid'),
  })
  .strict();

const openAiCompatible = z
  .object({
    adapter: z.literal('openai-compatible'),
    ...limits,
    /** Such as https://api.example.com/v1; a request's path (/v1/chat/completions) is joined to it. */
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** The environment variable holding the provider's API key (the key never sits in this JSON). */
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
    timeoutMs: z.number().int().min(1).max(600_000).default(60_000),
    /** Retries of a request on 429, 5xx, a timeout or an unreadable answer, before the provider is given up on. */
    maxRetries: z.number().int().min(0).max(20).default(4),
    /** First back-off (doubled each retry), and the most any wait may be, Retry-After included. */
    backoffMs: z.number().int().min(0).max(60_000).default(250),
    maxBackoffMs: z.number().int().min(0).max(300_000).default(30_000),
  })
  .strict();

export const providerSettingsSchema = z.discriminatedUnion('adapter', [simulated, openAiCompatible]);
export type ProviderSettings = z.infer<typeof providerSettingsSchema>;
export type SimulatedSettings = z.infer<typeof simulated>;
export type OpenAiCompatibleSettings = z.infer<typeof openAiCompatible>;

const providersSchema = z.record(z.union([z.literal('*'), identifier]), providerSettingsSchema);

/** Each provider's settings, and the fallback ("*") for providers not named. */
export class ProviderDirectory {
  private constructor(
    private readonly byId: ReadonlyMap<string, ProviderSettings>,
    private readonly fallback: ProviderSettings | undefined,
  ) {}

  /** Parses DISPATCH_PROVIDERS; a mistake stops the process at start with what is wrong. */
  static parse(json: string, env: Readonly<Record<string, string | undefined>> = process.env): ProviderDirectory {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (error) {
      throw new Error(`DISPATCH_PROVIDERS is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const parsed = providersSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`DISPATCH_PROVIDERS: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    for (const [id, s] of Object.entries(parsed.data)) {
      if (s.adapter === 'openai-compatible' && s.apiKeyEnv !== undefined && !env[s.apiKeyEnv]) {
        throw new Error(`DISPATCH_PROVIDERS: ${id} names ${s.apiKeyEnv} for its API key, which is not set`);
      }
    }
    const { '*': fallback, ...named } = parsed.data;
    return new ProviderDirectory(new Map(Object.entries(named)), fallback);
  }

  /** The provider's settings, or undefined when it is neither named nor covered by "*". */
  settingsOf(providerId: string): ProviderSettings | undefined {
    return this.byId.get(providerId) ?? this.fallback;
  }

  get named(): readonly string[] {
    return [...this.byId.keys()];
  }
}
