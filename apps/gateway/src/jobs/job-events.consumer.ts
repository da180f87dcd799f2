import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { JOB_EVENT_NOTES, Topic, type JobEvent, type JobStatus } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';

const G = AppSchema.Gateway;

/**
 * Where a job may go from each status. Terminal statuses go nowhere: a late event changes nothing.
 * A job that was matched goes back to `queued` when work a provider did not finish is put back in
 * the book, and forward again from there.
 */
const NEXT: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  submitted: ['queued', 'deferred', 'matched', 'cancelled', 'expired', 'failed'],
  queued: ['deferred', 'matched', 'cancelled', 'expired', 'failed'],
  deferred: ['queued', 'matched', 'cancelled', 'expired', 'failed'],
  matched: ['queued', 'deferred', 'dispatched', 'running', 'completed', 'failed'],
  dispatched: ['queued', 'deferred', 'running', 'completed', 'failed'],
  running: ['queued', 'deferred', 'completed', 'failed'],
  completed: [],
  cancelled: [],
  expired: [],
  failed: [],
};

export function mayMove(from: JobStatus, to: JobStatus): boolean {
  return NEXT[from].includes(to);
}

/** Types that note what happened to part of a job and leave its status alone. */
const NOTES: ReadonlySet<string> = new Set(JOB_EVENT_NOTES);

/** The matching engine's steps (`<jobId>.<n>`): the only ones that say how much is matched. */
const isMatchingStep = (e: JobEvent): boolean => /^\d+$/.test(e.eventId.slice(e.jobId.length + 1)) && e.eventId.startsWith(`${e.jobId}.`);

interface State {
  status: JobStatus;
  reason: string | null;
  deferredUntil: string | null;
  changed: boolean;
}

/**
 * Projects `jobs.events.v1` onto the job records: every event is kept (the job's history), and
 * the status follows the lifecycle's allowed moves, so a duplicate, a late or an out-of-order
 * event from another stage cannot take a job backwards. Two statements per batch.
 */
@Controller()
export class JobEventsConsumer {
  // `submitted` events are the gateway's own: intake wrote each one with its job, in the same
  // statement as the outbox row that published it. Reading them back would change nothing.
  @KafkaHandler(Topic.JobEvents, { only: (e) => e.type !== 'submitted' })
  async handle(@Payload() batch: InboundBatch<typeof Topic.JobEvents>): Promise<void> {
    const { manager } = batch;
    const events = batch.messages.map((m) => m.payload);
    const jobIds = [...new Set(events.map((e) => e.jobId))];
    const rows: { job_id: string; status: JobStatus; reason: string | null; deferred_until: Date | null }[] = await manager.query(
      `SELECT job_id, status, reason, deferred_until FROM "${G}".jobs WHERE job_id = ANY($1::uuid[]) ORDER BY job_id FOR UPDATE`,
      [jobIds],
    );
    const states = new Map<string, State>(
      rows.map((r) => [r.job_id, { status: r.status, reason: r.reason, deferredUntil: r.deferred_until?.toISOString() ?? null, changed: false }]),
    );
    const known: JobEvent[] = [];
    for (const e of events) {
      const s = states.get(e.jobId);
      if (s === undefined) continue; // not a job of this gateway's
      known.push(e);
      if ((NOTES.has(e.type) && e.type !== 'requeued') || e.status === s.status) {
        s.changed = true;
        continue;
      }
      if (!mayMove(s.status, e.status)) continue;
      s.status = e.status;
      s.reason = e.reason;
      s.deferredUntil = e.type === 'deferred' ? e.until : null;
      s.changed = true;
    }
    if (known.length === 0) return;
    // Net of work put back, so it can go down; the engine's steps of one job arrive in order.
    const filled = new Map<string, string>();
    for (const e of known) if (isMatchingStep(e)) filled.set(e.jobId, e.filledQuantity);
    const updates = [...states].filter(([, s]) => s.changed);
    // The history and the records in one statement (the insert as a data-modifying CTE, which
    // runs whether or not the update reads it): one round trip fewer per batch.
    await manager.query(
      `WITH history AS (
         INSERT INTO "${G}".job_events (event_id, job_id, type, status, reason, filled_quantity, allocation_ids, until, at)
         SELECT * FROM json_to_recordset($1::json) AS x(event_id text, job_id uuid, type text, status text, reason text,
                filled_quantity numeric, allocation_ids jsonb, until timestamptz, at timestamptz)
         ON CONFLICT (event_id) DO NOTHING
       )
       UPDATE "${G}".jobs j SET status = x.status, reason = x.reason, deferred_until = x.deferred_until,
              filled_quantity = COALESCE(x.filled, j.filled_quantity), updated_at = now()
         FROM json_to_recordset($2::json) AS x(job_id uuid, status text, reason text, deferred_until timestamptz, filled numeric)
        WHERE j.job_id = x.job_id`,
      [
        JSON.stringify(
          known.map((e) => ({
            event_id: e.eventId,
            job_id: e.jobId,
            type: e.type,
            status: e.status,
            reason: e.reason,
            filled_quantity: e.filledQuantity,
            allocation_ids: e.allocationIds,
            until: e.until,
            at: e.at,
          })),
        ),
        JSON.stringify(
          updates.map(([jobId, s]) => ({ job_id: jobId, status: s.status, reason: s.reason, deferred_until: s.deferredUntil, filled: filled.get(jobId) ?? null })),
        ),
      ],
    );
  }
}
