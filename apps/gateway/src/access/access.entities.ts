import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { AppSchema } from '#persistence';
import type { Role } from '#runtime';

/** A customer, provider, finance user or admin. Its id is its tenant: a customer's account, a provider's id. */
@Entity({ schema: AppSchema.Gateway, name: 'principals' })
@Check('principals_role_check', `role IN ('customer', 'provider', 'finance', 'admin')`)
export class PrincipalEntity {
  @PrimaryColumn({ name: 'principal_id', type: 'text', primaryKeyConstraintName: 'PK_gateway_principals' })
  principalId!: string;

  @Column({ type: 'text' })
  role!: Role;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;
}

/** An API key: found by its key id (the key's prefix), checked against the SHA-256 digest of the whole key. */
@Entity({ schema: AppSchema.Gateway, name: 'api_keys' })
@Index('api_keys_principal_idx', ['principalId'])
export class ApiKeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'text', primaryKeyConstraintName: 'PK_gateway_api_keys' })
  keyId!: string;

  @Column({ name: 'principal_id', type: 'text' })
  principalId!: string;

  @ManyToOne(() => PrincipalEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'principal_id', foreignKeyConstraintName: 'api_keys_principal_fk' })
  principal?: PrincipalEntity;

  @Column({ type: 'bytea' })
  digest!: Buffer;

  @Column({ type: 'text' })
  label!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** When the key stops working; in the future while a rotation's grace period runs. */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

/** A privileged action that succeeded: who, what, when, from where. Append-only (a trigger refuses edits). */
@Entity({ schema: AppSchema.Gateway, name: 'audit_log' })
@Index('audit_log_at_idx', ['at', 'auditId'])
@Index('audit_log_principal_idx', ['principalId', 'at'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ name: 'audit_id', type: 'bigint', primaryKeyConstraintName: 'PK_gateway_audit_log' })
  auditId!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  @Column({ name: 'principal_id', type: 'text' })
  principalId!: string;

  @Column({ type: 'text' })
  role!: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'text' })
  method!: string;

  @Column({ type: 'text' })
  path!: string;

  @Column({ type: 'integer' })
  status!: number;

  @Column({ type: 'text' })
  ip!: string;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  detail!: Record<string, unknown>;
}
