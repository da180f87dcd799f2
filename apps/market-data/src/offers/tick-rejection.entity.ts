import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { AppSchema } from '#persistence';

/** A tick whose sequence number was not above its offer's: recorded, never applied. */
@Entity({ schema: AppSchema.Market, name: 'tick_rejections' })
@Index('tick_rejections_offer_idx', ['providerId', 'offerId'])
@Check('tick_rejections_reason_check', `reason IN ('stale-seq', 'duplicate-seq')`)
export class TickRejectionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @Column({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @Column({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'last_seq', type: 'bigint' })
  lastSeq!: string;

  @Column({ type: 'text' })
  reason!: 'stale-seq' | 'duplicate-seq';

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;
}
