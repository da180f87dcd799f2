import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access control (issue 7, decision 0011), owned by the gateway:
 * - principals: customers, providers, finance users and admins; a principal's id is its tenant
 *   (a customer's account, a provider's id).
 * - api_keys: looked up by key id (the prefix of the key), checked against a SHA-256 digest of the
 *   whole key; `revoked_at` is when the key stops working (in the future while a rotation's grace runs).
 * - audit_log: privileged actions that succeeded: who, what, when, from where.
 * - feed_keys moves from market to gateway (the admin API issues and revokes them) and loses its
 *   secret column: a feed secret is derived from the key id with FEED_SECRETS_KEY, so the database
 *   holds none. Keys issued before this migration stop verifying and must be issued again.
 *   Market-data reads them through a view, as the gateway reads the market.
 */
export class Access1764230000000 implements MigrationInterface {
  name = 'Access1764230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.principals (
        principal_id text NOT NULL,
        role text NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz,
        CONSTRAINT "PK_gateway_principals" PRIMARY KEY (principal_id),
        CONSTRAINT principals_role_check CHECK (role IN ('customer', 'provider', 'finance', 'admin'))
      )`);
    await q.query(`
      CREATE TABLE gateway.api_keys (
        key_id text NOT NULL,
        principal_id text NOT NULL,
        digest bytea NOT NULL,
        label text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        CONSTRAINT "PK_gateway_api_keys" PRIMARY KEY (key_id),
        CONSTRAINT api_keys_principal_fk FOREIGN KEY (principal_id) REFERENCES gateway.principals (principal_id)
      )`);
    await q.query(`CREATE INDEX api_keys_principal_idx ON gateway.api_keys (principal_id)`);
    await q.query(`
      CREATE TABLE gateway.audit_log (
        audit_id bigserial NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        principal_id text NOT NULL,
        role text NOT NULL,
        key_id text NOT NULL,
        action text NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        status integer NOT NULL,
        ip text NOT NULL,
        user_agent text,
        detail jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT "PK_gateway_audit_log" PRIMARY KEY (audit_id)
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON gateway.audit_log (at, audit_id)`);
    await q.query(`CREATE INDEX audit_log_principal_idx ON gateway.audit_log (principal_id, at)`);
    // The log is append-only: what happened cannot be edited away.
    await q.query(`
      CREATE FUNCTION gateway.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
      END $$`);
    await q.query(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON gateway.audit_log
      FOR EACH ROW EXECUTE FUNCTION gateway.audit_log_append_only()`);

    await q.query(`DROP VIEW gateway.market_feed_keys`);
    await q.query(`DROP TRIGGER feed_keys_notify ON market.feed_keys`);
    await q.query(`DROP FUNCTION market.feed_keys_notify()`);
    await q.query(`ALTER TABLE market.feed_keys SET SCHEMA gateway`);
    await q.query(`ALTER TABLE gateway.feed_keys DROP COLUMN secret`);
    await q.query(`ALTER TABLE gateway.feed_keys RENAME CONSTRAINT "PK_market_feed_keys" TO "PK_gateway_feed_keys"`);
    await q.query(`CREATE VIEW market.feed_keys AS SELECT key_id, provider_id, created_at, revoked_at FROM gateway.feed_keys`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW market.feed_keys`);
    await q.query(`ALTER TABLE gateway.feed_keys RENAME CONSTRAINT "PK_gateway_feed_keys" TO "PK_market_feed_keys"`);
    await q.query(`ALTER TABLE gateway.feed_keys ADD COLUMN secret text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE gateway.feed_keys SET SCHEMA market`);
    await q.query(`
      CREATE FUNCTION market.feed_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('market_feed_keys', '');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER feed_keys_notify AFTER INSERT OR UPDATE OR DELETE ON market.feed_keys
      FOR EACH STATEMENT EXECUTE FUNCTION market.feed_keys_notify()`);
    await q.query(`CREATE VIEW gateway.market_feed_keys AS
      SELECT key_id, provider_id, secret, revoked_at IS NOT NULL AS revoked FROM market.feed_keys`);
    await q.query(`DROP TABLE gateway.audit_log`);
    await q.query(`DROP FUNCTION gateway.audit_log_append_only()`);
    await q.query(`DROP TABLE gateway.api_keys`);
    await q.query(`DROP TABLE gateway.principals`);
  }
}
