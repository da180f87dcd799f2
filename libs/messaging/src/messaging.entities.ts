import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { AppSchemaName } from '#persistence';

/**
 * The inbox and outbox live in each app's own schema (an app writes only its schema). Their
 * classes are made per schema so the drift check compares them with the migrations like any
 * other entity; the plumbing itself writes them with batched SQL.
 */
export function messagingEntities(schema: AppSchemaName) {
  /**
   * One row per message this app has applied: the dedupe record, written in the effect's
   * transaction. Message ids are unique within a topic, not across topics (a job's third
   * lifecycle step and its third allocation may share one), so the topic is part of the key.
   */
  @Entity({ schema, name: 'inbox' })
  @Index(`${schema}_inbox_processed_at_idx`, ['processedAt'])
  class InboxEntity {
    @PrimaryColumn({ name: 'consumer_group', type: 'text' })
    consumerGroup!: string;

    @PrimaryColumn({ type: 'text' })
    topic!: string;

    @PrimaryColumn({ name: 'message_id', type: 'text' })
    messageId!: string;

    @Column({ type: 'integer' })
    partition!: number;

    @Column({ type: 'bigint' })
    offset!: string;

    @CreateDateColumn({ name: 'processed_at', type: 'timestamptz' })
    processedAt!: Date;
  }

  /** Messages born from a database change, published by the relay after the change commits. */
  @Entity({ schema, name: 'outbox' })
  class OutboxEntity {
    @PrimaryGeneratedColumn({ type: 'bigint' })
    id!: string;

    @Column({ type: 'text' })
    topic!: string;

    @Column({ type: 'text', nullable: true })
    key!: string | null;

    @Column({ type: 'bytea' })
    value!: Buffer;

    @Column({ type: 'jsonb', default: () => "'{}'" })
    headers!: Record<string, string>;

    @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
    createdAt!: Date;
  }

  return [InboxEntity, OutboxEntity] as const;
}
