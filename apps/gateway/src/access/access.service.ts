import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { feedSecretOf } from '#contracts';
import { AppSchema } from '#persistence';
import { CONFIG, LOGGER, ProblemException, type Config, type Principal, type PrincipalResolver, type Role } from '#runtime';
import { digestMatches, digestOf, issueApiKey, keyIdOf } from './api-keys.js';

const G = AppSchema.Gateway;

/** How long an authenticated key is remembered: a revoked or disabled key stops working within this. */
const AUTH_CACHE_MS = 1_000;
const AUTH_CACHE_MAX = 10_000;

export interface PrincipalRow {
  principal_id: string;
  role: Role;
  name: string;
  created_at: Date;
  disabled_at: Date | null;
}
export interface KeyRow {
  key_id: string;
  label: string;
  created_at: Date;
  revoked_at: Date | null;
}

export const principalView = (p: PrincipalRow, keys?: readonly KeyRow[]) => ({
  id: p.principal_id,
  role: p.role,
  name: p.name,
  createdAt: p.created_at.toISOString(),
  disabledAt: p.disabled_at?.toISOString() ?? null,
  ...(keys === undefined ? {} : { keys: keys.map(keyView) }),
});

export const keyView = (k: KeyRow) => ({
  keyId: k.key_id,
  label: k.label,
  createdAt: k.created_at.toISOString(),
  revokedAt: k.revoked_at?.toISOString() ?? null,
});

const notFound = (what: string) => new ProblemException({ title: 'not found', status: 404, detail: `no ${what}` });

/**
 * Principals and their keys: who may call the gateway. Authenticates each request's key (the
 * global AccessGuard asks), and issues, rotates and revokes keys for the admin and self-service
 * routes. Every write here is one database transaction.
 */
@Injectable()
export class AccessService implements PrincipalResolver, OnApplicationBootstrap {
  private readonly cache = new Map<string, { principal: Principal; digest: Buffer; until: number }>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** On first start, the bootstrap admin key from the environment (when its key id is not known yet). */
  async onApplicationBootstrap(): Promise<void> {
    const token = this.config.BOOTSTRAP_ADMIN_KEY;
    if (token === undefined) return;
    const keyId = keyIdOf(token) as string;
    await this.dataSource.transaction(async (m) => {
      await m.query(`INSERT INTO "${G}".principals (principal_id, role, name) VALUES ('admin', 'admin', 'Bootstrap administrator') ON CONFLICT DO NOTHING`);
      const rows: unknown[] = await m.query(
        `INSERT INTO "${G}".api_keys (key_id, principal_id, digest, label) VALUES ($1, 'admin', $2, 'bootstrap (BOOTSTRAP_ADMIN_KEY)')
         ON CONFLICT (key_id) DO NOTHING RETURNING key_id`,
        [keyId, digestOf(token)],
      );
      if (rows.length > 0) this.logger.info({ keyId }, 'bootstrap admin key registered');
    });
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    const keyId = keyIdOf(token);
    if (keyId === undefined) return undefined;
    const now = Date.now();
    const hit = this.cache.get(keyId);
    // The cached digest is compared in constant time too: a remembered key is no timing oracle.
    if (hit !== undefined && hit.until > now && digestMatches(token, hit.digest)) return hit.principal;
    const rows: { principal_id: string; role: Role; digest: Buffer }[] = await this.dataSource.query(
      `SELECT p.principal_id, p.role, k.digest FROM "${G}".api_keys k JOIN "${G}".principals p USING (principal_id)
        WHERE k.key_id = $1 AND (k.revoked_at IS NULL OR k.revoked_at > now()) AND p.disabled_at IS NULL`,
      [keyId],
    );
    const row = rows[0];
    if (row === undefined || !digestMatches(token, row.digest)) return undefined;
    const principal: Principal = { id: row.principal_id, role: row.role, keyId };
    if (this.cache.size >= AUTH_CACHE_MAX) this.cache.clear();
    this.cache.set(keyId, { principal, digest: row.digest, until: now + AUTH_CACHE_MS });
    return principal;
  }

  async createPrincipal(input: { id: string; role: Role; name: string; keyLabel: string }) {
    return this.dataSource.transaction(async (m) => {
      const rows: PrincipalRow[] = await m.query(
        `INSERT INTO "${G}".principals (principal_id, role, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING *`,
        [input.id, input.role, input.name],
      );
      const principal = rows[0];
      if (principal === undefined) throw new ProblemException({ title: 'conflict', status: 409, detail: `principal ${input.id} already exists` });
      const key = await this.insertKey(m, principal.principal_id, input.keyLabel);
      return { principal: principalView(principal), key };
    });
  }

  async listPrincipals(q: { role?: Role | undefined; after?: string | undefined; limit: number }) {
    const rows: PrincipalRow[] = await this.dataSource.query(
      `SELECT * FROM "${G}".principals WHERE ($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR principal_id > $2)
        ORDER BY principal_id LIMIT $3`,
      [q.role ?? null, q.after ?? null, q.limit + 1],
    );
    return rows;
  }

  async principal(id: string) {
    const rows: PrincipalRow[] = await this.dataSource.query(`SELECT * FROM "${G}".principals WHERE principal_id = $1`, [id]);
    const p = rows[0];
    if (p === undefined) throw notFound(`principal ${id}`);
    const keys: KeyRow[] = await this.dataSource.query(
      `SELECT key_id, label, created_at, revoked_at FROM "${G}".api_keys WHERE principal_id = $1 ORDER BY created_at, key_id`,
      [id],
    );
    return principalView(p, keys);
  }

  /** Disables a principal: every key stops working (within a second); its history stays. */
  async disablePrincipal(id: string, self: Principal) {
    if (id === self.id) throw new ProblemException({ title: 'conflict', status: 409, detail: 'an admin cannot disable itself' });
    const [rows]: [PrincipalRow[], number] = await this.dataSource.query(
      `UPDATE "${G}".principals SET disabled_at = COALESCE(disabled_at, now()) WHERE principal_id = $1 RETURNING *`,
      [id],
    );
    const p = rows[0];
    if (p === undefined) throw notFound(`principal ${id}`);
    this.cache.clear();
    return principalView(p);
  }

  async issueKey(principalId: string, label: string) {
    return this.dataSource.transaction(async (m) => {
      await this.lockLivePrincipal(m, principalId);
      return this.insertKey(m, principalId, label);
    });
  }

  /**
   * A new key for the principal, and the old one stops working after `graceSeconds` (0: now), so
   * a client can switch without downtime. Rotating a key that already stopped is a 404.
   */
  async rotateKey(principalId: string, keyId: string, graceSeconds: number) {
    return this.dataSource.transaction(async (m) => {
      await this.lockLivePrincipal(m, principalId);
      const [old]: [KeyRow[], number] = await m.query(
        `UPDATE "${G}".api_keys SET revoked_at = LEAST(COALESCE(revoked_at, 'infinity'), now() + make_interval(secs => $3))
          WHERE key_id = $1 AND principal_id = $2 AND (revoked_at IS NULL OR revoked_at > now())
          RETURNING key_id, label, created_at, revoked_at`,
        [keyId, principalId, graceSeconds],
      );
      const previous = old[0];
      if (previous === undefined) throw notFound(`live key ${keyId}`);
      this.cache.delete(keyId);
      const key = await this.insertKey(m, principalId, previous.label);
      return { key, previous: keyView(previous) };
    });
  }

  async revokeKey(principalId: string, keyId: string) {
    const [rows]: [KeyRow[], number] = await this.dataSource.query(
      `UPDATE "${G}".api_keys SET revoked_at = LEAST(COALESCE(revoked_at, 'infinity'), now())
        WHERE key_id = $1 AND principal_id = $2 RETURNING key_id, label, created_at, revoked_at`,
      [keyId, principalId],
    );
    const k = rows[0];
    if (k === undefined) throw notFound(`key ${keyId}`);
    this.cache.delete(keyId);
    return keyView(k);
  }

  // Feed keys: a provider's signing keys. The secret is derived (feedSecretOf), shown once here.

  async issueFeedKey(providerId: string) {
    return this.dataSource.transaction(async (m) => {
      await this.lockLivePrincipal(m, providerId, 'provider');
      return this.insertFeedKey(m, providerId);
    });
  }

  async feedKeys(providerId: string) {
    await this.requirePrincipal(providerId, 'provider');
    const rows: Omit<KeyRow, 'label'>[] = await this.dataSource.query(
      `SELECT key_id, created_at, revoked_at FROM "${G}".feed_keys WHERE provider_id = $1 ORDER BY created_at, key_id`,
      [providerId],
    );
    return rows.map((k) => ({ keyId: k.key_id, createdAt: k.created_at.toISOString(), revokedAt: k.revoked_at?.toISOString() ?? null }));
  }

  async rotateFeedKey(providerId: string, keyId: string, graceSeconds: number) {
    return this.dataSource.transaction(async (m) => {
      await this.lockLivePrincipal(m, providerId, 'provider');
      const [old]: [{ key_id: string; revoked_at: Date }[], number] = await m.query(
        `UPDATE "${G}".feed_keys SET revoked_at = LEAST(COALESCE(revoked_at, 'infinity'), now() + make_interval(secs => $3))
          WHERE key_id = $1 AND provider_id = $2 AND (revoked_at IS NULL OR revoked_at > now()) RETURNING key_id, revoked_at`,
        [keyId, providerId, graceSeconds],
      );
      const previous = old[0];
      if (previous === undefined) throw notFound(`live feed key ${keyId}`);
      const key = await this.insertFeedKey(m, providerId);
      return { key, previous: { keyId: previous.key_id, revokedAt: previous.revoked_at.toISOString() } };
    });
  }

  async revokeFeedKey(providerId: string, keyId: string) {
    const [rows]: [{ key_id: string; revoked_at: Date }[], number] = await this.dataSource.query(
      `UPDATE "${G}".feed_keys SET revoked_at = LEAST(COALESCE(revoked_at, 'infinity'), now())
        WHERE key_id = $1 AND provider_id = $2 RETURNING key_id, revoked_at`,
      [keyId, providerId],
    );
    const k = rows[0];
    if (k === undefined) throw notFound(`feed key ${keyId}`);
    return { keyId: k.key_id, revokedAt: k.revoked_at.toISOString() };
  }

  private async insertKey(m: EntityManager, principalId: string, label: string) {
    const key = issueApiKey();
    const rows: KeyRow[] = await m.query(
      `INSERT INTO "${G}".api_keys (key_id, principal_id, digest, label) VALUES ($1, $2, $3, $4) RETURNING key_id, label, created_at, revoked_at`,
      [key.keyId, principalId, key.digest, label],
    );
    return { ...keyView(rows[0] as KeyRow), token: key.token };
  }

  private async insertFeedKey(m: EntityManager, providerId: string) {
    const keyId = `fk${randomBytes(9).toString('hex')}`;
    const rows: { created_at: Date }[] = await m.query(`INSERT INTO "${G}".feed_keys (key_id, provider_id) VALUES ($1, $2) RETURNING created_at`, [keyId, providerId]);
    return { keyId, providerId, secret: feedSecretOf(this.config.FEED_SECRETS_KEY, keyId), createdAt: (rows[0] as { created_at: Date }).created_at.toISOString(), revokedAt: null };
  }

  /** Keys are issued only to a principal that exists and is not disabled; the row lock orders this against a disable. */
  private async lockLivePrincipal(m: EntityManager, id: string, role?: Role): Promise<void> {
    const rows: PrincipalRow[] = await m.query(`SELECT * FROM "${G}".principals WHERE principal_id = $1 FOR UPDATE`, [id]);
    const p = rows[0];
    if (p === undefined || (role !== undefined && p.role !== role)) throw notFound(role === undefined ? `principal ${id}` : `${role} ${id}`);
    if (p.disabled_at !== null) throw new ProblemException({ title: 'conflict', status: 409, detail: `principal ${id} is disabled` });
  }

  private async requirePrincipal(id: string, role: Role): Promise<void> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM "${G}".principals WHERE principal_id = $1 AND role = $2`, [id, role]);
    if (rows.length === 0) throw notFound(`${role} ${id}`);
  }
}
