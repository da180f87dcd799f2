import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '#runtime';
import type { GpuOutcome, ProviderAdapter, RequestOutcome, RunContext } from './adapter.js';
import { OpenAiCompatibleAdapter } from './openai-compatible.adapter.js';
import { ProviderDirectory, type ProviderSettings } from './provider-config.js';
import { RateLimiter } from './rate-limiter.js';
import { SimulatedAdapter } from './simulated.adapter.js';

export interface ProviderHandle {
  readonly adapter: ProviderAdapter;
  readonly limiter: RateLimiter;
  readonly settings: ProviderSettings | undefined;
}

/** A provider nobody configured: its work fails at once and goes to the next provider. */
class UnconfiguredAdapter implements ProviderAdapter {
  runRequest(ctx: RunContext): Promise<RequestOutcome> {
    return Promise.resolve({ kind: 'provider-failed', reason: `no dispatch settings for provider ${ctx.providerId}` });
  }
  runGpu(ctx: RunContext): Promise<GpuOutcome> {
    const now = new Date();
    return Promise.resolve({ kind: 'provider-failed', gpuSeconds: 0n, energyKwh: null, reason: `no dispatch settings for provider ${ctx.providerId}`, startedAt: now, endedAt: now });
  }
}

/** Each provider's adapter and rate limiter, made once from DISPATCH_PROVIDERS. */
@Injectable()
export class ProviderRegistry {
  readonly directory: ProviderDirectory;
  private readonly handles = new Map<string, ProviderHandle>();

  constructor(@Inject(CONFIG) config: Config) {
    this.directory = ProviderDirectory.parse(config.DISPATCH_PROVIDERS);
  }

  of(providerId: string): ProviderHandle {
    let handle = this.handles.get(providerId);
    if (handle === undefined) {
      const settings = this.directory.settingsOf(providerId);
      const adapter =
        settings === undefined
          ? new UnconfiguredAdapter()
          : settings.adapter === 'simulated'
            ? new SimulatedAdapter(settings)
            : new OpenAiCompatibleAdapter(settings);
      handle = { adapter, limiter: new RateLimiter(settings?.requestsPerSecond ?? 0), settings };
      this.handles.set(providerId, handle);
    }
    return handle;
  }
}
