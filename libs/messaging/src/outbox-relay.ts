import type { Producer } from 'kafkajs';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppSchemaName } from '#persistence';
import { metrics, type Config } from '#platform';
import { Limits } from './limits.js';
import { Backoff } from './backoff.js';

interface OutboxRow {
  id: string;
  created_at: Date;
  topic: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Publishes the outbox in id order and deletes what the broker acknowledged. A crash between
 * the ack and the delete republishes those rows: delivery is at least once, and every consumer
 * dedupes. One relay per schema holds a session advisory lock, so instances of an app can run
 * side by side without publishing the same rows twice or out of order.
 *
 * The delete travels with the next round's read, in one statement: a socket write costs about
 * 110 µs of CPU on this machine, and a round was two of them (decision 0005, stop 30). So acked
 * rows stay until the next round, at most `Limits.outboxPollMs` later, and `stop` deletes the last.
 */
export class OutboxRelay {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A NOTIFY that arrived while a round was running: the next idle() returns at once. */
  private nudged = false;
  private listener: pg.Client | undefined;
  private published = 0;
  /**
   * Highest id published. Rounds read `id > lowWater`, so the index range skips the rows already
   * deleted but not yet vacuumed (without it, each round re-walks them: quadratic under load).
   * A transaction that commits after a later id was published leaves a row below the mark; a
   * full scan whenever the ranged read finds nothing, and every 50 rounds, picks it up.
   */
  private lowWater = 0n;
  private roundsSinceFullScan = 0;
  /** Ids the broker acknowledged, deleted by the next read (or by `stop`). */
  private acked: string[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: AppSchemaName,
    private readonly producer: Producer,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  get publishedCount(): number {
    return this.published;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Finishes the round in flight, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.nudge();
    await this.loop;
    await this.deleteAcked().catch((error: unknown) => this.logger.warn({ err: error, schema: this.schema }, 'outbox relay could not delete its last published rows; they will be published again'));
    await this.closeListener();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(Limits.initialBackoffMs, this.config.RETRY_MAX_BACKOFF_MS);
    while (!this.stopping) {
      try {
        if (this.listener === undefined && !(await this.acquire())) {
          await this.idle(1_000);
          continue;
        }
        const sent = await this.publishRound();
        backoff.reset();
        // A short round drained the outbox as it was when read. Whatever committed since has sent
        // a NOTIFY, which makes idle() return at once; without one there is nothing to read, and
        // reading anyway cost two empty queries (ranged, then the full scan) after every round,
        // a round trip each on the path of the next message. A full round may have more behind it.
        if (sent < Limits.outboxBatch) await this.idle(Limits.outboxPollMs);
      } catch (error) {
        this.logger.warn({ err: error, schema: this.schema }, 'outbox relay round failed; retrying');
        await this.closeListener();
        await this.idle(backoff.next());
      }
    }
  }

  /** Opens the LISTEN connection and takes the relay lock on it; false when another relay has it. */
  private async acquire(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.config.DATABASE_URL, application_name: `outbox-relay:${this.schema}` });
    client.on('error', (err) => {
      this.logger.warn({ err, schema: this.schema }, 'outbox listener connection lost');
      void this.closeListener();
      this.nudge();
    });
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`${this.schema}.outbox`]);
    if (rows[0]?.locked !== true) {
      await client.end();
      return false;
    }
    client.on('notification', () => this.nudge());
    await client.query(`LISTEN "${this.schema}_outbox"`);
    this.listener = client;
    return true;
  }

  private async closeListener(): Promise<void> {
    const client = this.listener;
    this.listener = undefined;
    // Another relay may take over and publish meanwhile: start from a full scan when we return.
    this.lowWater = 0n;
    if (client !== undefined) await client.end().catch(() => undefined);
  }

  private async publishRound(): Promise<number> {
    const full = this.roundsSinceFullScan >= 50;
    let rows = await this.readRound(full ? 0n : this.lowWater);
    if (rows.length === 0 && !full && this.lowWater > 0n) rows = await this.readRound(0n);
    this.roundsSinceFullScan = full || rows.length === 0 ? 0 : this.roundsSinceFullScan + 1;
    if (rows.length === 0) return 0;
    // Requests under the broker's size limit, in id order; each request keeps per-topic order.
    for (let i = 0; i < rows.length; ) {
      const byTopic = new Map<string, { key: string | null; value: Buffer; headers: Record<string, string> }[]>();
      let bytes = 0;
      do {
        const row = rows[i] as OutboxRow;
        const list = byTopic.get(row.topic) ?? [];
        list.push({ key: row.key, value: row.value, headers: row.headers });
        byTopic.set(row.topic, list);
        bytes += row.value.length + (row.key?.length ?? 0);
        i += 1;
      } while (i < rows.length && bytes + (rows[i] as OutboxRow).value.length <= Limits.outboxBatchBytes);
      await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    }
    for (const row of rows) this.acked.push(row.id);
    this.published += rows.length;
    for (const row of rows) if (BigInt(row.id) > this.lowWater) this.lowWater = BigInt(row.id);
    const ackedAt = Date.now();
    for (const row of rows) metrics.outboxDelaySeconds.observe(Math.max(0, ackedAt - row.created_at.getTime()) / 1_000);
    metrics.outboxPublished.inc(rows.length);
    return rows.length;
  }

  private nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  /**
   * The next rows after `after`, deleting the acked ones in the same statement. The read sees the
   * table as it was before the delete, so it leaves the acked ids out itself (a full scan would
   * otherwise publish them again).
   */
  private async readRound(after: bigint): Promise<OutboxRow[]> {
    const columns = 'id, topic, key, value, headers, created_at';
    if (this.acked.length === 0) {
      return this.dataSource.query(`SELECT ${columns} FROM "${this.schema}".outbox WHERE id > $1 ORDER BY id LIMIT $2`, [after.toString(), Limits.outboxBatch]);
    }
    // Every acked id is at most `lowWater`, so a read after it cannot meet them. Only a full scan,
    // or the first read after a reconnect (which set `lowWater` back to 0), leaves them out itself:
    // comparing every row read with every acked id was 1% of PostgreSQL's time in bench:ingest.
    const rows: OutboxRow[] = await this.dataSource.query(
      `WITH gone AS (DELETE FROM "${this.schema}".outbox WHERE id = ANY($3::bigint[]))
       SELECT ${columns} FROM "${this.schema}".outbox WHERE id > $1 ${after === 0n || after < this.lowWater ? 'AND id <> ALL($3::bigint[])' : ''} ORDER BY id LIMIT $2`,
      [after.toString(), Limits.outboxBatch, this.acked],
    );
    // Rounds run one at a time, so nothing was acked while the statement ran.
    this.acked = [];
    return rows;
  }

  private async deleteAcked(): Promise<void> {
    if (this.acked.length === 0) return;
    await this.dataSource.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [this.acked]);
    this.acked = [];
  }

  private idle(ms: number): Promise<void> {
    if (this.stopping || this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.nudged = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}


