import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema, numericColumn } from '#persistence';

/**
 * Every applied spot-price tick, as published (prices exact, as `numeric`). Partitioned by month
 * of `valid_from` (see the MarketIngest migration), so the partition key is part of the key.
 */
@Entity({ schema: AppSchema.Market, name: 'spot_price_ticks' })
// A BRIN index, which TypeORM cannot describe: declared so the drift check leaves it alone.
@Index('spot_price_ticks_valid_from_brin', { synchronize: false })
export class SpotPriceTickEntity {
  @PrimaryColumn({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @PrimaryColumn({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @PrimaryColumn({ type: 'bigint' })
  seq!: string;

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

  @PrimaryColumn({ name: 'valid_from', type: 'timestamptz' })
  validFrom!: Date;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil!: Date;

  @Column({ type: 'jsonb' })
  attributes!: Record<string, unknown>;

  @Column({ name: 'published_at', type: 'timestamptz' })
  publishedAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;
}
