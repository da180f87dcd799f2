import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema, numericColumn } from '#persistence';

/** Per zone and kind of tariff: the last sequence number applied. */
@Entity({ schema: AppSchema.Market, name: 'tariff_feeds' })
export class TariffFeedEntity {
  @PrimaryColumn({ type: 'text' })
  zone!: string;

  @PrimaryColumn({ type: 'text' })
  kind!: string;

  @Column({ name: 'last_seq', type: 'bigint' })
  lastSeq!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'text' })
  unit!: string;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** One tariff slot as published (currency and unit as given; converted when prices are computed). */
@Entity({ schema: AppSchema.Market, name: 'tariff_slots' })
@Index('tariff_slots_zone_end_idx', ['zone', 'slotEnd'])
@Check('tariff_slots_window_check', 'slot_end > slot_start')
export class TariffSlotEntity {
  @PrimaryColumn({ type: 'text' })
  zone!: string;

  @PrimaryColumn({ type: 'text' })
  kind!: string;

  @PrimaryColumn({ name: 'slot_start', type: 'timestamptz' })
  slotStart!: Date;

  @Column({ name: 'slot_end', type: 'timestamptz' })
  slotEnd!: Date;

  @Column({ type: 'numeric', transformer: numericColumn })
  price!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'text' })
  unit!: string;

  @Column({ type: 'bigint' })
  seq!: string;
}
