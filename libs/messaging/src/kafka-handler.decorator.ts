import { applyDecorators, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { ContractTopic } from '#contracts';
import { RethrowRpcErrorsFilter } from './rethrow-rpc-errors.filter.js';

/**
 * Marks the method that handles a topic's batches. The method receives an InboundBatch of that
 * topic; its errors reach the transport unchanged, which decides between retry and DLQ.
 */
export function KafkaHandler(topic: ContractTopic): MethodDecorator {
  return applyDecorators(EventPattern(topic as string) as MethodDecorator, UseFilters(RethrowRpcErrorsFilter));
}
