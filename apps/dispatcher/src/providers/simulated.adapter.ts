import { createHash } from 'node:crypto';
import { formatQuantity, parseQuantityMicro } from '#pricing';
import type { SimulatedSettings } from './provider-config.js';
import { abortableSleep, type GpuOutcome, type ProviderAdapter, type RequestOutcome, type RunContext, type WorkRequest } from './adapter.js';

/** A number in [0, 1) drawn from the parts: the same parts always draw the same number. */
export function draw(...parts: readonly (string | number)[]): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * A deterministic provider for demos, tests and benchmarks. Everything it does is drawn from the
 * seed, the allocation and the request, so a rerun behaves the same: its latency, its transient
 * 500s (retried, as a real provider's would be), whether an allocation is preempted and where,
 * and the tokens each answer uses.
 */
export class SimulatedAdapter implements ProviderAdapter {
  constructor(private readonly s: SimulatedSettings) {}

  /** Where in its work an allocation is preempted, or undefined when it is not. */
  preemptionPoint(ctx: RunContext): number | undefined {
    if (draw(this.s.seed, 'preempt', ctx.allocationId) >= this.s.preemptionRate) return undefined;
    return 0.25 + 0.5 * draw(this.s.seed, 'preempt-at', ctx.allocationId);
  }

  async runRequest(ctx: RunContext, request: WorkRequest, signal: AbortSignal): Promise<RequestOutcome> {
    const point = this.preemptionPoint(ctx);
    if (point !== undefined && ctx.ordinal >= Math.floor(ctx.total * point)) {
      return { kind: 'preempted', reason: `${ctx.providerId} preempted the capacity (simulated)` };
    }
    const startedAt = new Date();
    // Transient failures: each attempt may draw a 500; three in a row and the provider is given up on.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await abortableSleep(this.s.latencyMs + this.s.jitterMs * draw(this.s.seed, 'latency', ctx.allocationId, request.index, attempt), signal);
      if (signal.aborted) return { kind: 'preempted', reason: 'stopped' };
      if (draw(this.s.seed, 'fail', ctx.allocationId, request.index, attempt) < this.s.failureRate) continue;
      const inputTokens = BigInt(Math.max(1, Math.ceil(JSON.stringify(request.body).length / 4)));
      const maxTokens = typeof request.body['max_tokens'] === 'number' ? Math.max(1, Math.floor(request.body['max_tokens'])) : 512;
      const outputTokens = BigInt(1 + Math.floor(draw(this.s.seed, 'tokens', request.customId) * Math.min(maxTokens, 512)));
      return {
        kind: 'succeeded',
        statusCode: 200,
        body: {
          id: `sim-${ctx.allocationId}-${request.index}`,
          object: 'chat.completion',
          model: typeof request.body['model'] === 'string' ? request.body['model'] : 'simulated',
          choices: [{ index: 0, message: { role: 'assistant', content: `simulated answer to ${request.customId}` }, finish_reason: 'stop' }],
          usage: { prompt_tokens: Number(inputTokens), completion_tokens: Number(outputTokens), total_tokens: Number(inputTokens + outputTokens) },
        },
        inputTokens,
        outputTokens,
        startedAt,
        endedAt: new Date(),
      };
    }
    return { kind: 'provider-failed', reason: `${ctx.providerId} answered 500 four times in a row (simulated)` };
  }

  async runGpu(ctx: RunContext, gpuSeconds: bigint, signal: AbortSignal): Promise<GpuOutcome> {
    const startedAt = new Date();
    const point = this.preemptionPoint(ctx);
    const share = point ?? 1;
    const ran = BigInt(Math.floor(Number(gpuSeconds) * share));
    await abortableSleep((Number(ran) / 3_600) * this.s.secondsPerGpuHour * 1_000, signal);
    const energyMicro = (ran * parseQuantityMicro(this.s.energyKwhPerGpuHour)) / 3_600n;
    return {
      kind: point === undefined ? 'completed' : 'preempted',
      gpuSeconds: ran,
      energyKwh: formatQuantity(energyMicro),
      reason: point === undefined ? null : `${ctx.providerId} preempted the capacity (simulated)`,
      startedAt,
      endedAt: new Date(),
    };
  }
}
