import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { TERMINAL_JOB_STATUSES, Topic, type JobEvent } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';

/** The events that move holds: a job's end. */
const endsJob = (e: JobEvent): boolean => TERMINAL_JOB_STATUSES.has(e.status);

/**
 * When a job ends (completed, cancelled, expired, failed), its open holds resolve: `settled` when
 * usage was captured, `voided` when none was. Each hold leaves `open` once (the database refuses
 * a second time); a job's remainder that ended while the job itself goes on keeps its holds.
 */
@Controller()
export class HoldReleaseConsumer {
  // Only a job's end moves its holds: the other events (most of them) skip the transaction.
  @KafkaHandler(Topic.JobEvents, { only: endsJob })
  async handle(@Payload() batch: InboundBatch<typeof Topic.JobEvents>): Promise<void> {
    const ended = [...new Set(batch.messages.filter((m) => endsJob(m.payload)).map((m) => m.payload.jobId))];
    if (ended.length === 0) return;
    await batch.manager.query(
      `UPDATE "${AppSchema.Billing}".holds SET status = CASE WHEN captured > 0 THEN 'settled' ELSE 'voided' END
        WHERE job_id = ANY($1) AND status = 'open'`,
      [ended],
    );
  }
}
