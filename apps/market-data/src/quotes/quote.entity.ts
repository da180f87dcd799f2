import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { OfferAttributes } from '#contracts';
import { AppSchema, bigintColumn, numericColumn } from '#persistence';

/** The effective price of each offer now, in nano-USD per unit, as last published. */
@Entity({ schema: AppSchema.Market, name: 'quotes' })
// Not the effective price: every tick changes it, and an index on it keeps updates from being HOT.
@Index('quotes_instrument_idx', ['instrument'])
export class QuoteEntity {
  @PrimaryColumn({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @PrimaryColumn({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ type: 'text' })
  region!: string;

  @Column({ name: 'grid_zone', type: 'text' })
  gridZone!: string;

  @Column({ name: 'compute_nano_usd', type: 'bigint', transformer: bigintColumn })
  computeNanoUsd!: bigint;

  @Column({ name: 'energy_nano_usd', type: 'bigint', transformer: bigintColumn })
  energyNanoUsd!: bigint;

  @Column({ name: 'effective_nano_usd', type: 'bigint', transformer: bigintColumn })
  effectiveNanoUsd!: bigint;

  @Column({ type: 'numeric', transformer: numericColumn })
  capacity!: string;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil!: Date;

  @Column({ name: 'priced_until', type: 'timestamptz', nullable: true })
  pricedUntil!: Date | null;

  @Column({ type: 'jsonb' })
  attributes!: OfferAttributes;

  @Column({ name: 'as_of', type: 'timestamptz' })
  asOf!: Date;

  @Column({ name: 'tick_seq', type: 'bigint' })
  tickSeq!: string;

  @Column({ name: 'tariff_seq', type: 'bigint', nullable: true })
  tariffSeq!: string | null;

  @Column({ name: 'fx_as_of', type: 'timestamptz', nullable: true })
  fxAsOf!: Date | null;
}
