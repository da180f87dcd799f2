import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { JobConstraints, OfferAttributes } from '#contracts';
import { AppSchema, bigintColumn } from '#persistence';

/** Each offer's latest quote as an ask: its price, its capacity and what was matched of it. */
@Entity({ schema: AppSchema.Matching, name: 'offers' })
@Index('offers_valid_until_idx', ['validUntil'])
@Check('offers_allocated_check', 'allocated_micro >= 0')
export class MatchingOfferEntity {
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

  @Column({ name: 'capacity_micro', type: 'bigint', transformer: bigintColumn })
  capacityMicro!: bigint;

  @Column({ name: 'allocated_micro', type: 'bigint', transformer: bigintColumn })
  allocatedMicro!: bigint;

  @Column({ name: 'tick_seq', type: 'bigint' })
  tickSeq!: string;

  @Column({ name: 'as_of', type: 'timestamptz' })
  asOf!: Date;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil!: Date;

  @Column({ type: 'jsonb' })
  attributes!: OfferAttributes;

  @Column({ type: 'bigint' })
  priority!: string;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** Each job the engine has seen: its bid, its window, and where it stands. */
@Entity({ schema: AppSchema.Matching, name: 'orders' })
// A partial index (live orders only), which the drift check cannot compare: declared, left alone.
@Index('orders_live_idx', { synchronize: false })
@Check('orders_status_check', `status IN ('open', 'deferred', 'filled', 'cancelled', 'expired')`)
@Check('orders_filled_check', 'filled_micro >= 0 AND filled_micro <= quantity_micro')
export class MatchingOrderEntity {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ name: 'quantity_micro', type: 'bigint', transformer: bigintColumn })
  quantityMicro!: bigint;

  @Column({ name: 'limit_nano_usd', type: 'bigint', transformer: bigintColumn })
  limitNanoUsd!: bigint;

  @Column({ name: 'allow_split', type: 'boolean' })
  allowSplit!: boolean;

  @Column({ type: 'jsonb' })
  constraints!: JobConstraints;

  @Column({ name: 'earliest_start', type: 'timestamptz' })
  earliestStart!: Date;

  @Column({ name: 'latest_start', type: 'timestamptz' })
  latestStart!: Date;

  @Column({ type: 'timestamptz' })
  deadline!: Date;

  // DEFERRABLE is an SQL keyword.
  @Column({ name: 'may_defer', type: 'boolean' })
  deferrable!: boolean;

  @Column({ type: 'jsonb' })
  forecast!: unknown;

  @Column({ name: 'submitted_at', type: 'timestamptz' })
  submittedAt!: Date;

  @Column({ type: 'text' })
  status!: string;

  @Column({ name: 'filled_micro', type: 'bigint', transformer: bigintColumn })
  filledMicro!: bigint;

  @Column({ name: 'fill_count', type: 'integer' })
  fillCount!: number;

  @Column({ name: 'step_count', type: 'integer' })
  stepCount!: number;

  @Column({ type: 'bigint' })
  priority!: string;

  @Column({ name: 'wake_at', type: 'timestamptz', nullable: true })
  wakeAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  /** Allocations whose unfinished remainder was put back (each once). */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  requeued!: string[];

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** Capacity given to a job: one row per fill, as published on `market.allocations.v1`. */
@Entity({ schema: AppSchema.Matching, name: 'allocations' })
@Index('allocations_job_idx', ['jobId'])
@Check('allocations_quantity_check', 'quantity_micro > 0')
export class MatchingAllocationEntity {
  @PrimaryColumn({ name: 'allocation_id', type: 'text' })
  allocationId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @Column({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ type: 'text' })
  region!: string;

  @Column({ name: 'grid_zone', type: 'text' })
  gridZone!: string;

  @Column({ name: 'quantity_micro', type: 'bigint', transformer: bigintColumn })
  quantityMicro!: bigint;

  @Column({ name: 'compute_nano_usd', type: 'bigint', transformer: bigintColumn })
  computeNanoUsd!: bigint;

  @Column({ name: 'energy_nano_usd', type: 'bigint', transformer: bigintColumn })
  energyNanoUsd!: bigint;

  @Column({ name: 'effective_nano_usd', type: 'bigint', transformer: bigintColumn })
  effectiveNanoUsd!: bigint;

  @Column({ name: 'amount_nano_usd', type: 'bigint', transformer: bigintColumn })
  amountNanoUsd!: bigint;

  @Column({ name: 'fee_nano_usd', type: 'bigint', transformer: bigintColumn })
  feeNanoUsd!: bigint;

  @Column({ name: 'matched_at', type: 'timestamptz' })
  matchedAt!: Date;
}
