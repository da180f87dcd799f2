import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ALL_SCHEMAS } from '#persistence';

/**
 * Inbox rows are keyed by consumer group, topic and message id. Ids are unique per topic only:
 * the matching engine names a job's steps and its allocations `<jobId>.<n>` alike, so keyed
 * without the topic, an app consuming both took the allocation for a step already applied and
 * skipped it.
 */
export class InboxKeyedByTopic1764195000000 implements MigrationInterface {
  name = 'InboxKeyedByTopic1764195000000';

  async up(q: QueryRunner): Promise<void> {
    for (const schema of ALL_SCHEMAS) {
      await q.query(`ALTER TABLE "${schema}".inbox DROP CONSTRAINT "PK_${schema}_inbox"`);
      await q.query(`ALTER TABLE "${schema}".inbox ADD CONSTRAINT "PK_${schema}_inbox" PRIMARY KEY (consumer_group, topic, message_id)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const schema of ALL_SCHEMAS) {
      await q.query(`ALTER TABLE "${schema}".inbox DROP CONSTRAINT "PK_${schema}_inbox"`);
      await q.query(`ALTER TABLE "${schema}".inbox ADD CONSTRAINT "PK_${schema}_inbox" PRIMARY KEY (consumer_group, message_id)`);
    }
  }
}
