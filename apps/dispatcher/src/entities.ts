import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { AppSchema, bigintColumn } from '#persistence';

/** A job's work as the dispatcher shares it out among the job's allocations. */
@Entity({ schema: AppSchema.Dispatch, name: 'jobs' })
@Check('jobs_work_kind_check', `work_kind IN ('requests', 'gpu-hours')`)
@Check('jobs_status_check', `status IN ('active', 'completed', 'failed')`)
export class DispatchJobEntity {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ name: 'quantity_micro', type: 'bigint', transformer: bigintColumn })
  quantityMicro!: bigint;

  @Column({ name: 'work_kind', type: 'text' })
  workKind!: 'requests' | 'gpu-hours';

  @Column({ name: 'request_count', type: 'integer' })
  requestCount!: number;

  /** Request indexes not given to any allocation yet; those put back come first. */
  @Column({ type: 'integer', array: true })
  pool!: number[];

  @Column({ name: 'allocated_micro', type: 'bigint', default: 0, transformer: bigintColumn })
  allocatedMicro!: bigint;

  @Column({ name: 'returned_micro', type: 'bigint', default: 0, transformer: bigintColumn })
  returnedMicro!: bigint;

  /** Remainders not put back because the job used up its attempts. */
  @Column({ name: 'abandoned_micro', type: 'bigint', default: 0, transformer: bigintColumn })
  abandonedMicro!: bigint;

  @Column({ type: 'integer', default: 0 })
  requeues!: number;

  /** The latest matching step that ended the job's matching (fully matched, or its rest ended). */
  @Column({ name: 'closed_step', type: 'integer', nullable: true })
  closedStep!: number | null;

  @Column({ name: 'closed_filled_micro', type: 'bigint', nullable: true, transformer: bigintColumn })
  closedFilledMicro!: bigint | null;

  @Column({ type: 'text', default: 'active' })
  status!: 'active' | 'completed' | 'failed';

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** One allocation's run on its provider. */
@Entity({ schema: AppSchema.Dispatch, name: 'allocations' })
@Index('allocations_job_idx', ['jobId'])
// A partial index (the active providers' list), which the drift check cannot compare: declared, left alone.
@Index('allocations_active_idx', { synchronize: false })
@Check('allocations_status_check', `status IN ('queued', 'running', 'completed', 'preempted', 'failed')`)
export class DispatchAllocationEntity {
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

  @Column({ name: 'quantity_micro', type: 'bigint', transformer: bigintColumn })
  quantityMicro!: bigint;

  /** The job's requests this allocation runs (indexes into the job's work). */
  @Column({ type: 'integer', array: true })
  requests!: number[];

  @Column({ type: 'text', default: 'queued' })
  status!: 'queued' | 'running' | 'completed' | 'preempted' | 'failed';

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'remainder_micro', type: 'bigint', default: 0, transformer: bigintColumn })
  remainderMicro!: bigint;

  /** Set when the remainder went back to matching: the job's attempt number it started. */
  @Column({ name: 'requeue_attempt', type: 'integer', nullable: true })
  requeueAttempt!: number | null;

  /** The matching step that took the remainder back. */
  @Column({ name: 'requeue_step', type: 'integer', nullable: true })
  requeueStep!: number | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;
}

/** The outcome of one request (or of a GPU run, index 0) on one allocation. */
@Entity({ schema: AppSchema.Dispatch, name: 'results' })
@Index('results_job_idx', ['jobId', 'requestIndex'])
@Check('results_status_check', `status IN ('succeeded', 'failed')`)
export class DispatchResultEntity {
  @PrimaryColumn({ name: 'allocation_id', type: 'text' })
  allocationId!: string;

  @PrimaryColumn({ name: 'request_index', type: 'integer' })
  requestIndex!: number;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'custom_id', type: 'text', nullable: true })
  customId!: string | null;

  @Column({ type: 'text' })
  status!: 'succeeded' | 'failed';

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  @Column({ type: 'jsonb', nullable: true })
  body!: unknown;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'input_tokens', type: 'bigint', nullable: true, transformer: bigintColumn })
  inputTokens!: bigint | null;

  @Column({ name: 'output_tokens', type: 'bigint', nullable: true, transformer: bigintColumn })
  outputTokens!: bigint | null;

  @Column({ name: 'gpu_seconds', type: 'bigint', nullable: true, transformer: bigintColumn })
  gpuSeconds!: bigint | null;

  @Column({ name: 'energy_kwh', type: 'numeric', nullable: true })
  energyKwh!: string | null;

  @Column({ name: 'usage_id', type: 'text', nullable: true })
  usageId!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz' })
  endedAt!: Date;
}

/** The tables dispatcher owns beyond its inbox and outbox. */
export const dispatcherEntities = [DispatchJobEntity, DispatchAllocationEntity, DispatchResultEntity];
