import { applyDecorators, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { ContractTopic, MessageOf } from '#contracts';
import { RethrowRpcErrorsFilter } from './rethrow-rpc-errors.filter.js';

export interface KafkaHandlerOptions<T extends ContractTopic> {
  /**
   * The messages this handler acts on; the others it would ignore anyway. The transport skips
   * them before the transaction: no dedupe row (ignoring twice is ignoring once), and a chunk
   * with nothing for the handler costs no transaction at all, only its offset commit. Invalid
   * messages still go to the DLQ. Must be a pure function of the message.
   */
  readonly only?: (message: MessageOf<T>) => boolean;
}

/** Where the transport finds `only` on a handler (Nest keeps a pattern's extras on it). */
export const ONLY_EXTRA = 'spotgrid.only';

/**
 * Marks the method that handles a topic's batches. The method receives an InboundBatch of that
 * topic; its errors reach the transport unchanged, which decides between retry and DLQ.
 */
export function KafkaHandler<T extends ContractTopic>(topic: T, options: KafkaHandlerOptions<T> = {}): MethodDecorator {
  const extras = options.only === undefined ? {} : { [ONLY_EXTRA]: options.only };
  return applyDecorators(EventPattern(topic as string, extras) as MethodDecorator, UseFilters(RethrowRpcErrorsFilter));
}
