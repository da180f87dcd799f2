import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Topic, type Allocation, type JobConstraints, type JobEvent, type OfferAttributes } from '#contracts';
import { encodeMessage, outboxRowsJson } from '#messaging';
import type { AllocationRecord, Effects, JobStep, OfferRecord, OrderRecord, OrderStatus } from '#order-book';
import { AppSchema } from '#persistence';
import { formatQuantity } from '#pricing';

export { offerQuoteOf, orderSpecOf } from '#market';

const S = AppSchema.Matching;

export function allocationMessage(a: AllocationRecord): Allocation {
  return {
    allocationId: a.allocationId,
    jobId: a.jobId,
    customerId: a.customerId,
    providerId: a.providerId,
    offerId: a.offerId,
    instrument: a.instrument,
    region: a.region,
    gridZone: a.gridZone,
    quantity: formatQuantity(a.quantityMicro),
    computeNanoUsd: a.computeNanoUsd.toString(),
    energyNanoUsd: a.energyNanoUsd.toString(),
    effectiveNanoUsd: a.effectiveNanoUsd.toString(),
    amountNanoUsd: a.amountNanoUsd.toString(),
    feeNanoUsd: a.feeNanoUsd.toString(),
    matchedAt: new Date(a.matchedAt).toISOString(),
  };
}

export function jobEventMessage(s: JobStep): JobEvent {
  return {
    eventId: s.stepId,
    jobId: s.jobId,
    customerId: s.customerId,
    type: s.type,
    status: s.status,
    reason: s.reason,
    quantity: formatQuantity(s.quantityMicro),
    filledQuantity: formatQuantity(s.filledMicro),
    allocationIds: [...s.allocationIds],
    until: s.until === null ? null : new Date(s.until).toISOString(),
    at: new Date(s.at).toISOString(),
  };
}

interface OfferRow {
  provider_id: string;
  offer_id: string;
  instrument: string;
  region: string;
  grid_zone: string;
  compute_nano_usd: string;
  energy_nano_usd: string;
  effective_nano_usd: string;
  capacity_micro: string;
  allocated_micro: string;
  tick_seq: string;
  as_of: Date;
  valid_until: Date;
  attributes: OfferAttributes;
  priority: string;
}

interface OrderRow {
  job_id: string;
  customer_id: string;
  instrument: string;
  quantity_micro: string;
  limit_nano_usd: string;
  allow_split: boolean;
  constraints: JobConstraints;
  earliest_start: Date;
  latest_start: Date;
  deadline: Date;
  may_defer: boolean;
  forecast: { start: number; end: number; price: string }[];
  submitted_at: Date;
  status: OrderStatus;
  filled_micro: string;
  fill_count: number;
  step_count: number;
  priority: string;
  wake_at: Date | null;
  reason: string | null;
  requeued: string[];
}

function orderRecordOf(r: OrderRow): OrderRecord {
  return {
    jobId: r.job_id,
    customerId: r.customer_id,
    instrument: r.instrument,
    quantityMicro: BigInt(r.quantity_micro),
    limitNanoUsd: BigInt(r.limit_nano_usd),
    allowSplit: r.allow_split,
    constraints: r.constraints,
    earliestStart: r.earliest_start.getTime(),
    latestStart: r.latest_start.getTime(),
    deadline: r.deadline.getTime(),
    deferrable: r.may_defer,
    forecast: r.forecast.map((f) => ({ start: f.start, end: f.end, price: BigInt(f.price) })),
    submittedAt: r.submitted_at.getTime(),
    status: r.status,
    filledMicro: BigInt(r.filled_micro),
    fillCount: r.fill_count,
    stepCount: r.step_count,
    priority: Number(r.priority),
    wakeAt: r.wake_at === null ? null : r.wake_at.getTime(),
    reason: r.reason,
    requeued: r.requeued,
  };
}

/**
 * The matching schema: loads the live state the book is rebuilt from, and writes what a matching
 * step changed (offers, orders, allocations, and their messages in the outbox) in one statement
 * per table, inside one transaction.
 */
@Injectable()
export class BookStore {
  constructor(private readonly dataSource: DataSource) {}

  async load(now: Date): Promise<{ offers: OfferRecord[]; orders: OrderRecord[] }> {
    const [offers, orders]: [OfferRow[], OrderRow[]] = await Promise.all([
      this.dataSource.query(`SELECT * FROM "${S}".offers WHERE valid_until > $1 AND capacity_micro > allocated_micro`, [now]),
      this.dataSource.query(`SELECT * FROM "${S}".orders WHERE status IN ('open', 'deferred')`),
    ]);
    return {
      offers: offers.map((r) => ({
        providerId: r.provider_id,
        offerId: r.offer_id,
        instrument: r.instrument,
        region: r.region,
        gridZone: r.grid_zone,
        computeNanoUsd: BigInt(r.compute_nano_usd),
        energyNanoUsd: BigInt(r.energy_nano_usd),
        effectiveNanoUsd: BigInt(r.effective_nano_usd),
        capacityMicro: BigInt(r.capacity_micro),
        allocatedMicro: BigInt(r.allocated_micro),
        tickSeq: Number(r.tick_seq),
        asOf: r.as_of.getTime(),
        validUntil: r.valid_until.getTime(),
        attributes: r.attributes,
        priority: Number(r.priority),
      })),
      orders: orders.map(orderRecordOf),
    };
  }

  /** Of these jobs, those this engine has already seen (in any state). */
  async knownJobs(jobIds: readonly string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    const rows: { job_id: string }[] = await this.dataSource.query(`SELECT job_id FROM "${S}".orders WHERE job_id = ANY($1::uuid[])`, [jobIds]);
    return new Set(rows.map((r) => r.job_id));
  }

  /** The stored records of these jobs (finished ones included), for remainders put back. */
  async orderRecords(jobIds: readonly string[]): Promise<Map<string, OrderRecord>> {
    if (jobIds.length === 0) return new Map();
    const rows: OrderRow[] = await this.dataSource.query(`SELECT * FROM "${S}".orders WHERE job_id = ANY($1::uuid[])`, [jobIds]);
    return new Map(rows.map((r) => [r.job_id, orderRecordOf(r)]));
  }

  /**
   * Writes one matching step's effects and queues its messages: one statement (offers, orders,
   * allocations, outbox), so one round trip, atomic without an explicit transaction.
   */
  async persist(fx: Effects): Promise<void> {
    const messages = [
      ...fx.allocations.map((a) => encodeMessage(Topic.Allocations, allocationMessage(a))),
      ...fx.steps.map((s) => encodeMessage(Topic.JobEvents, jobEventMessage(s))),
    ];
    await this.dataSource.query(
      `WITH offers AS (${OFFERS_UPSERT}),
            orders AS (${ORDERS_UPSERT}),
            allocations AS (${ALLOCATIONS_INSERT}),
            outbox AS (
              INSERT INTO "${S}".outbox (topic, key, value, headers)
              SELECT topic, key, convert_to(value::text, 'UTF8'), headers FROM json_to_recordset($4::json)
                AS x(topic text, key text, value json, headers jsonb))
       SELECT 1`,
      [
        offersJson([...fx.offers.values()]),
        ordersJson([...fx.orders.values()]),
        allocationsJson(fx.allocations),
        outboxRowsJson(messages),
      ],
    );
  }
}

// The parts of `persist`'s one statement: offers are $1, orders $2, allocations $3, the outbox $4.
const OFFERS_UPSERT = `INSERT INTO "${S}".offers AS o (provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd,
         effective_nano_usd, capacity_micro, allocated_micro, tick_seq, as_of, valid_until, attributes, priority)
  SELECT * FROM json_to_recordset($1::json) AS x(provider_id text, offer_id text, instrument text, region text, grid_zone text,
         compute_nano_usd bigint, energy_nano_usd bigint, effective_nano_usd bigint, capacity_micro bigint, allocated_micro bigint,
         tick_seq bigint, as_of timestamptz, valid_until timestamptz, attributes jsonb, priority bigint)
  ON CONFLICT (provider_id, offer_id) DO UPDATE SET
    instrument = excluded.instrument, region = excluded.region, grid_zone = excluded.grid_zone,
    compute_nano_usd = excluded.compute_nano_usd, energy_nano_usd = excluded.energy_nano_usd,
    effective_nano_usd = excluded.effective_nano_usd, capacity_micro = excluded.capacity_micro,
    allocated_micro = excluded.allocated_micro, tick_seq = excluded.tick_seq, as_of = excluded.as_of,
    valid_until = excluded.valid_until, attributes = excluded.attributes, priority = excluded.priority, updated_at = now()`;

const ORDERS_UPSERT = `INSERT INTO "${S}".orders AS o (job_id, customer_id, instrument, quantity_micro, limit_nano_usd, allow_split, constraints,
         earliest_start, latest_start, deadline, may_defer, forecast, submitted_at, status, filled_micro, fill_count, step_count,
         priority, wake_at, reason, requeued)
  SELECT * FROM json_to_recordset($2::json) AS x(job_id uuid, customer_id text, instrument text, quantity_micro bigint,
         limit_nano_usd bigint, allow_split boolean, constraints jsonb, earliest_start timestamptz, latest_start timestamptz,
         deadline timestamptz, may_defer boolean, forecast jsonb, submitted_at timestamptz, status text, filled_micro bigint,
         fill_count integer, step_count integer, priority bigint, wake_at timestamptz, reason text, requeued jsonb)
  ON CONFLICT (job_id) DO UPDATE SET
    quantity_micro = excluded.quantity_micro, constraints = excluded.constraints, latest_start = excluded.latest_start,
    requeued = excluded.requeued, status = excluded.status, filled_micro = excluded.filled_micro, fill_count = excluded.fill_count,
    step_count = excluded.step_count, priority = excluded.priority, wake_at = excluded.wake_at, reason = excluded.reason,
    updated_at = now()`;

// No ON CONFLICT: allocation ids are derived from each job's fill count, so a duplicate would mean
// the book diverged from this table. Better to fail (and rebuild) than to hide it.
const ALLOCATIONS_INSERT = `INSERT INTO "${S}".allocations (allocation_id, job_id, customer_id, provider_id, offer_id, instrument, region,
         grid_zone, quantity_micro, compute_nano_usd, energy_nano_usd, effective_nano_usd, amount_nano_usd, fee_nano_usd, matched_at)
  SELECT * FROM json_to_recordset($3::json) AS x(allocation_id text, job_id uuid, customer_id text, provider_id text, offer_id text,
         instrument text, region text, grid_zone text, quantity_micro bigint, compute_nano_usd bigint, energy_nano_usd bigint,
         effective_nano_usd bigint, amount_nano_usd bigint, fee_nano_usd bigint, matched_at timestamptz)`;

function offersJson(offers: readonly OfferRecord[]): string {
  return JSON.stringify(
    offers.map((o) => ({
      provider_id: o.providerId,
      offer_id: o.offerId,
      instrument: o.instrument,
      region: o.region,
      grid_zone: o.gridZone,
      compute_nano_usd: o.computeNanoUsd.toString(),
      energy_nano_usd: o.energyNanoUsd.toString(),
      effective_nano_usd: o.effectiveNanoUsd.toString(),
      capacity_micro: o.capacityMicro.toString(),
      allocated_micro: o.allocatedMicro.toString(),
      tick_seq: o.tickSeq,
      as_of: new Date(o.asOf).toISOString(),
      valid_until: new Date(o.validUntil).toISOString(),
      attributes: o.attributes,
      priority: o.priority,
    })),
  );
}

function ordersJson(orders: readonly OrderRecord[]): string {
  return JSON.stringify(
    orders.map((o) => ({
      job_id: o.jobId,
      customer_id: o.customerId,
      instrument: o.instrument,
      quantity_micro: o.quantityMicro.toString(),
      limit_nano_usd: o.limitNanoUsd.toString(),
      allow_split: o.allowSplit,
      constraints: o.constraints,
      earliest_start: new Date(o.earliestStart).toISOString(),
      latest_start: new Date(o.latestStart).toISOString(),
      deadline: new Date(o.deadline).toISOString(),
      may_defer: o.deferrable,
      forecast: o.forecast.map((f) => ({ start: f.start, end: f.end, price: f.price.toString() })),
      submitted_at: new Date(o.submittedAt).toISOString(),
      status: o.status,
      filled_micro: o.filledMicro.toString(),
      fill_count: o.fillCount,
      step_count: o.stepCount,
      priority: o.priority,
      wake_at: o.wakeAt === null ? null : new Date(o.wakeAt).toISOString(),
      reason: o.reason,
      requeued: o.requeued,
    })),
  );
}

function allocationsJson(allocations: readonly AllocationRecord[]): string {
  return JSON.stringify(
    allocations.map((a) => ({
      allocation_id: a.allocationId,
      job_id: a.jobId,
      customer_id: a.customerId,
      provider_id: a.providerId,
      offer_id: a.offerId,
      instrument: a.instrument,
      region: a.region,
      grid_zone: a.gridZone,
      quantity_micro: a.quantityMicro.toString(),
      compute_nano_usd: a.computeNanoUsd.toString(),
      energy_nano_usd: a.energyNanoUsd.toString(),
      effective_nano_usd: a.effectiveNanoUsd.toString(),
      amount_nano_usd: a.amountNanoUsd.toString(),
      fee_nano_usd: a.feeNanoUsd.toString(),
      matched_at: new Date(a.matchedAt).toISOString(),
    })),
  );
}
