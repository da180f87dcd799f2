import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { JobConstraints } from '#contracts';
import { AppSchema, bigintColumn, numericColumn } from '#persistence';

/** A customer's job: what was asked (and under which idempotency key), and where it stands. */
@Entity({ schema: AppSchema.Gateway, name: 'jobs' })
@Unique('jobs_idempotency_unique', ['customerId', 'idempotencyKey'])
@Index('jobs_customer_created_idx', ['customerId', 'createdAt', 'jobId'])
// A partial index (the sweeper's work list), which the drift check cannot compare: declared, left alone.
@Index('jobs_unacknowledged_idx', { synchronize: false })
export class JobEntity {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ name: 'idempotency_key', type: 'text' })
  idempotencyKey!: string;

  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ type: 'numeric', transformer: numericColumn })
  quantity!: string;

  @Column({ name: 'limit_nano_usd', type: 'bigint', transformer: bigintColumn })
  limitNanoUsd!: bigint;

  @Column({ name: 'allow_split', type: 'boolean' })
  allowSplit!: boolean;

  @Column({ type: 'jsonb' })
  constraints!: JobConstraints;

  @Column({ name: 'earliest_start', type: 'timestamptz' })
  earliestStart!: Date;

  @Column({ type: 'timestamptz' })
  deadline!: Date;

  @Column({ name: 'latest_start', type: 'timestamptz' })
  latestStart!: Date;

  @Column({ name: 'runtime_seconds', type: 'integer' })
  runtimeSeconds!: number;

  // DEFERRABLE is an SQL keyword.
  @Column({ name: 'may_defer', type: 'boolean' })
  deferrable!: boolean;

  @Column({ type: 'jsonb' })
  work!: unknown;

  @Column({ type: 'jsonb' })
  forecast!: unknown;

  @Column({ name: 'hold_nano_usd', type: 'bigint', transformer: bigintColumn })
  holdNanoUsd!: bigint;

  /** What the job is measured against: the first-listed eligible offer's unit price at submission. */
  @Column({ name: 'baseline_first_listed_nano_usd', type: 'bigint', nullable: true, transformer: bigintColumn })
  baselineFirstListedNanoUsd!: bigint | null;

  /** …and the cheapest eligible offer's on compute alone (at its effective price). */
  @Column({ name: 'baseline_cheapest_compute_nano_usd', type: 'bigint', nullable: true, transformer: bigintColumn })
  baselineCheapestComputeNanoUsd!: bigint | null;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'filled_quantity', type: 'numeric', default: 0, transformer: numericColumn })
  filledQuantity!: string;

  @Column({ name: 'deferred_until', type: 'timestamptz', nullable: true })
  deferredUntil!: Date | null;

  @Column({ name: 'cancel_requested_at', type: 'timestamptz', nullable: true })
  cancelRequestedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** Every lifecycle step of every job, as received on `jobs.events.v1`. */
@Entity({ schema: AppSchema.Gateway, name: 'job_events' })
@Index('job_events_job_idx', ['jobId', 'at'])
export class JobEventEntity {
  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'filled_quantity', type: 'numeric', transformer: numericColumn })
  filledQuantity!: string;

  @Column({ name: 'allocation_ids', type: 'jsonb' })
  allocationIds!: string[];

  @Column({ type: 'timestamptz', nullable: true })
  until!: Date | null;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}
