import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ALL_SCHEMAS } from '#persistence';

/**
 * One schema per app, each with the messaging tables: the inbox (dedupe records written in the
 * same transaction as a consumed message's effects) and the outbox (events born from a database
 * change, published after commit). An insert into an outbox wakes its relay through NOTIFY.
 */
export class Schemas1764150000000 implements MigrationInterface {
  name = 'Schemas1764150000000';

  async up(q: QueryRunner): Promise<void> {
    for (const schema of ALL_SCHEMAS) {
      await q.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await q.query(`
        CREATE TABLE "${schema}".inbox (
          consumer_group text NOT NULL,
          message_id text NOT NULL,
          topic text NOT NULL,
          "partition" integer NOT NULL,
          "offset" bigint NOT NULL,
          processed_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT "PK_${schema}_inbox" PRIMARY KEY (consumer_group, message_id)
        )`);
      await q.query(`CREATE INDEX "${schema}_inbox_processed_at_idx" ON "${schema}".inbox (processed_at)`);
      await q.query(`
        CREATE TABLE "${schema}".outbox (
          id bigserial NOT NULL,
          topic text NOT NULL,
          key text,
          value bytea NOT NULL,
          headers jsonb NOT NULL DEFAULT '{}'::jsonb,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT "PK_${schema}_outbox" PRIMARY KEY (id)
        )`);
      await q.query(`
        CREATE FUNCTION "${schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('${schema}_outbox', '');
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER outbox_notify AFTER INSERT ON "${schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".outbox_notify()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const schema of [...ALL_SCHEMAS].reverse()) await q.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}
