import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppSchema } from '#persistence';
import { LOGGER } from '#runtime';
import { JobIntake } from './job-intake.service.js';
import { JOB_COLUMNS, orderOf, type JobRow } from './job.view.js';

/** How often, and after how long without an acknowledgement, a job or cancel is queued again. */
const SWEEP_EVERY_MS = 5_000;
const UNACKNOWLEDGED_AFTER_SECONDS = 10;
const MAX_PER_SWEEP = 500;

/**
 * The other half of intake's guarantee: a job stored but not queued (the process died between the
 * two, or Redis was away) is queued again, and so is a cancel the engine has not acted on. The
 * queue's deterministic ids and the engine's idempotence make a second copy harmless.
 */
@Injectable()
export class JobSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly intake: JobIntake,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'job sweep failed; will retry'))
        .finally(() => {
          this.sweeping = undefined;
        });
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.sweeping;
  }

  async sweep(): Promise<number> {
    const rows: JobRow[] = await this.dataSource.query(
      `SELECT ${JOB_COLUMNS} FROM "${AppSchema.Gateway}".jobs
        WHERE (status = 'submitted' OR cancel_requested_at IS NOT NULL)
          AND (
            (status = 'submitted' AND created_at < now() - make_interval(secs => $1))
            OR (cancel_requested_at < now() - make_interval(secs => $1) AND status IN ('submitted', 'queued', 'deferred'))
          )
        ORDER BY created_at LIMIT $2`,
      [UNACKNOWLEDGED_AFTER_SECONDS, MAX_PER_SWEEP],
    );
    for (const r of rows) {
      const order = orderOf(r);
      if (r.status === 'submitted') await this.intake.enqueueSubmit(order);
      if (r.cancel_requested_at !== null) await this.intake.enqueueCancel(order, 'cancelled by the customer', r.cancel_requested_at);
    }
    if (rows.length > 0) this.logger.info({ jobs: rows.length }, 'queued unacknowledged jobs and cancels again');
    return rows.length;
  }
}
