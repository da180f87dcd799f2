import { Injectable } from '@nestjs/common';
import type { ConsumerState, KafkaBatchTransport } from '#messaging';

/** Where the app's Kafka transport, made in main after the DI container, is found by probes. */
@Injectable()
export class ConsumerHandle {
  private transport: KafkaBatchTransport | undefined;

  attach(transport: KafkaBatchTransport): void {
    this.transport = transport;
  }

  /** `idle` for an app that consumes nothing. */
  get state(): ConsumerState {
    return this.transport?.state ?? 'idle';
  }
}
