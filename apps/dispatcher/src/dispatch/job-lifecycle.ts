import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { formatQuantity } from '#pricing';
import { dispatchEvent, DispatchStore, isEnded, type JobRow } from './dispatch.store.js';

/**
 * When a job is over: matching is done with it (fully matched, or its rest ended), every
 * allocation has arrived and ended, and every remainder put back was taken back before matching
 * last closed. Then the job is `completed`, or `failed` when work was given up on.
 */
@Injectable()
export class JobLifecycle {
  constructor(private readonly store: DispatchStore) {}

  /** Ends the job (locked by the caller) when it is over; a job not over yet is left alone. */
  async settle(m: EntityManager, job: JobRow, now: Date): Promise<void> {
    if (job.status !== 'active' || job.closedStep === null || job.closedFilledMicro === null) return;
    if (job.allocatedMicro - job.returnedMicro !== job.closedFilledMicro) return; // an allocation is still on its way
    const closedStep = job.closedStep;
    const allocations = await this.store.allocationsOf(m, job.jobId);
    const open = allocations.some(
      (a) => !isEnded(a.status) || (a.requeueAttempt !== null && (a.requeueStep === null || a.requeueStep > closedStep)),
    );
    if (open) return;
    const failedRequests = job.workKind === 'requests' ? await this.store.failedRequests(m, job.jobId) : 0;
    const notes: string[] = [];
    if (job.closedFilledMicro < job.quantityMicro) notes.push(`${formatQuantity(job.closedFilledMicro)} of ${formatQuantity(job.quantityMicro)} matched and run`);
    if (failedRequests > 0) notes.push(`${failedRequests} request(s) refused by the provider (see the results)`);
    if (job.abandonedMicro > 0n || job.closedFilledMicro === 0n) {
      job.status = 'failed';
      job.reason ??= 'no work could be completed';
    } else {
      job.status = 'completed';
      job.reason = notes.length > 0 ? notes.join('; ') : null;
    }
    const ids = allocations.map((a) => a.allocationId);
    await this.store.saveJob(m, job, [dispatchEvent(job, `${job.jobId}:${job.status}`, job.status, job.status, job.reason, ids, now)]);
  }
}
