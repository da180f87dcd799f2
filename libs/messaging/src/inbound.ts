import type { EntityManager } from 'typeorm';
import type { ContractTopic, MessageOf } from '#contracts';
import type { DlqReason } from './errors.js';
import type { HeaderMap } from './headers.js';

/** One valid message, decoded and checked against its topic's schema. */
export interface InboundMessage<T extends ContractTopic> {
  readonly topic: T;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /** The dedupe identity from the topic's contract. */
  readonly messageId: string;
  readonly payload: MessageOf<T>;
  /** The exact value bytes (signatures are over these, not over a re-encoding). */
  readonly value: Buffer;
  readonly headers: HeaderMap;
}

/**
 * What a handler receives: messages of one topic that this app has not applied yet, from one
 * partition or several (each partition's in offset order, one after another), and the transaction
 * their effects must be written in. Keys never span partitions, so a key's messages are in order.
 * The transport records the dedupe rows in the same transaction and commits the Kafka offsets only
 * after it commits.
 */
export interface InboundBatch<T extends ContractTopic> {
  readonly topic: T;
  readonly messages: readonly InboundMessage<T>[];
  readonly manager: EntityManager;
  /** Sends one message of this batch to the DLQ (through the outbox, in this transaction). */
  reject(message: InboundMessage<T>, reason: DlqReason, detail: string): void;
}
