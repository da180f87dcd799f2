import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema } from '#persistence';

/**
 * A key a provider signs its feed with, named by `x-key-id`. The secret is not stored: it is
 * derived from the key id (`feedSecretOf`). `revoked_at` is when it stops verifying (in the future
 * while a rotation's grace runs). Revoked keys stay, for audit.
 */
@Entity({ schema: AppSchema.Gateway, name: 'feed_keys' })
@Index('feed_keys_provider_idx', ['providerId'])
export class FeedKeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'text', primaryKeyConstraintName: 'PK_gateway_feed_keys' })
  keyId!: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
