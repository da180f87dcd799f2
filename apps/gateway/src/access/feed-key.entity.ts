import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema } from '#persistence';

/** The HMAC secret a provider signs its feed with, named by `x-key-id`. Revoked keys stay, for audit. */
@Entity({ schema: AppSchema.Market, name: 'feed_keys' })
@Index('feed_keys_provider_idx', ['providerId'])
export class FeedKeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @Column({ type: 'text' })
  secret!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
