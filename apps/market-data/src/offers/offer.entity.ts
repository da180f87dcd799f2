import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema, numericColumn } from '#persistence';

/** The current state of each provider offer: its latest applied tick and the sequence it reached. */
@Entity({ schema: AppSchema.Market, name: 'offers' })
@Index('offers_grid_zone_idx', ['gridZone'])
export class OfferEntity {
  @PrimaryColumn({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @PrimaryColumn({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @Column({ name: 'last_seq', type: 'bigint' })
  lastSeq!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ type: 'text' })
  region!: string;

  @Column({ name: 'grid_zone', type: 'text' })
  gridZone!: string;

  @Column({ type: 'numeric', transformer: numericColumn })
  price!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'energy_kwh_per_unit', type: 'numeric', transformer: numericColumn })
  energyKwhPerUnit!: string;

  @Column({ name: 'energy_included', type: 'boolean' })
  energyIncluded!: boolean;

  @Column({ type: 'numeric', transformer: numericColumn })
  capacity!: string;

  @Column({ name: 'valid_from', type: 'timestamptz' })
  validFrom!: Date;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil!: Date;

  @Column({ type: 'jsonb' })
  attributes!: Record<string, unknown>;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
