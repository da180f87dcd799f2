import { CustomTransportStrategy, Server, BaseRpcContext, type MessageHandler } from '@nestjs/microservices';
import type { Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { contractOf, describeIssues, dlqTopicOf, type ContractTopic } from '#contracts';
import { isTransientError, type AppSchemaName } from '#persistence';
import { type Config, metrics, withCorrelation } from '#platform';
import { Backoff, sleep } from './backoff.js';
import { PermanentMessageError, type DlqReason } from './errors.js';
import { Header, readHeaders } from './headers.js';
import { ONLY_EXTRA } from './kafka-handler.decorator.js';
import type { InboundBatch, InboundMessage } from './inbound.js';
import { ensureTopics } from './kafka-client.js';
import { Limits } from './limits.js';
import { enqueueOutbox, type OutboundMessage } from './outbound.js';

export interface KafkaBatchTransportOptions {
  /** Consumer group: one per app, so each app sees every message once. */
  readonly groupId: string;
  readonly topics: readonly ContractTopic[];
  /** The app's schema, where its inbox and outbox live. */
  readonly schema: AppSchemaName;
  readonly kafka: Kafka;
  readonly dataSource: DataSource;
  readonly config: Config;
  readonly logger: Logger;
  /**
   * After a fetch of few messages (under `Limits.lingerBelowMessages`), wait this long before the
   * next, so that what arrives meanwhile comes as one batch: one fetch, one transaction and one
   * commit instead of one each per message. 0 (the default) fetches again at once. Only for apps
   * whose consumption is on no latency budget (see ServiceDefinition.lingerMs).
   */
  readonly lingerMs?: number;
}

type Decoded<T extends ContractTopic> =
  | { readonly ok: true; readonly message: InboundMessage<T> }
  | { readonly ok: false; readonly partition: number; readonly raw: KafkaMessage; readonly reason: DlqReason; readonly detail: string };

interface Rejection {
  readonly raw: { readonly key: Buffer | string | null; readonly value: Buffer | null; readonly partition: number; readonly offset: string; readonly headers: Record<string, string> };
  readonly reason: DlqReason;
  readonly detail: string;
}

/** A partition's chunk, decoded, waiting for a transaction (see submit). */
interface Pending {
  readonly decoded: readonly Decoded<ContractTopic>[];
  readonly heartbeat: () => Promise<void>;
  readonly alive: () => boolean;
  readonly settle: (error?: unknown) => void;
}

/** A topic's chunks waiting for a transaction, and its transactions running. */
interface Lane {
  readonly pending: Pending[];
  running: number;
  scheduled: boolean;
}

/** Thrown to abandon a batch when the group rebalanced or the consumer is stopping. */
class BatchAbandoned extends Error {}

export type ConsumerState = 'idle' | 'connecting' | 'running' | 'crashed' | 'stopped';

/**
 * The one consumer policy of DESIGN.md section 6, as a Nest transport over kafkajs:
 *
 *   validate → in one PostgreSQL transaction: dedupe record + the handler's effects + DLQ rows
 *   (through the outbox) → commit the transaction → commit offset + 1.
 *
 * A message that can never succeed goes to `<topic>.dlq` and the partition moves on. A transient
 * failure (database or broker down) is retried with back-off for as long as it lasts; nothing is
 * dropped. Handlers are ordinary `@EventPattern(Topic.X)` methods that receive an InboundBatch.
 */
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private consumer: Consumer | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private consumerState: ConsumerState = 'idle';
  /** Offsets applied but not yet committed, the latest per topic and partition (see queueCommit). */
  private readonly toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  /** Batches being handled now, and the messages of the fetch they came from so far (see fetchHandled). */
  private activeBatches = 0;
  private fetchedMessages = 0;
  private readonly lanes = new Map<ContractTopic, Lane>();

  constructor(private readonly options: KafkaBatchTransportOptions) {
    super();
  }

  get state(): ConsumerState {
    return this.consumerState;
  }

  on(): never {
    throw new Error('KafkaBatchTransport has no events to subscribe to');
  }

  unwrap<T>(): T {
    if (this.consumer === undefined) throw new Error('not listening');
    return this.consumer as T;
  }

  /** Fails start-up when a consumed topic has no handler or two, or a handler has no topic. */
  private resolveHandlers(): Map<ContractTopic, MessageHandler> {
    const handlers = new Map<ContractTopic, MessageHandler>();
    const problems: string[] = [];
    for (const topic of this.options.topics) {
      const handler = this.getHandlerByPattern(topic);
      if (handler === null) problems.push(`no handler for ${topic}`);
      else if (handler.next !== undefined) problems.push(`more than one handler for ${topic}`);
      else handlers.set(topic, handler);
    }
    for (const pattern of this.getHandlers().keys()) {
      if (!(this.options.topics as readonly string[]).includes(pattern)) problems.push(`handler for ${pattern}, which this app does not consume`);
    }
    if (problems.length > 0) throw new Error(`Kafka handlers of ${this.options.groupId}: ${problems.join('; ')}`);
    return handlers;
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      const handlers = this.resolveHandlers();
      const { kafka, config, groupId, topics, lingerMs = 0 } = this.options;
      this.consumerState = 'connecting';
      await ensureTopics(kafka, config);
      const consumer = kafka.consumer({
        groupId,
        maxBytesPerPartition: Limits.consumerMaxBytesPerPartition,
        // A member that dies without leaving holds its partitions until this runs out: short, so a
        // killed and restarted service is consuming again within seconds (DESIGN.md: ≤ 10 s). The
        // transport heartbeats while it waits out a transient failure, so a slow outage is not one.
        sessionTimeout: 10_000,
        heartbeatInterval: 2_000,
        allowAutoTopicCreation: false,
      });
      this.consumer = consumer;
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        this.consumerState = payload.restart ? 'connecting' : 'crashed';
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        this.consumerState = 'running';
        // Offsets of partitions this member no longer holds are the new owner's to commit.
        const held = payload.memberAssignment as Record<string, number[] | undefined>;
        for (const [key, c] of this.toCommit) if (!(held[c.topic] ?? []).includes(c.partition)) this.toCommit.delete(key);
      });
      await consumer.connect();
      // Every topic is subscribed before run(), once: kafkajs refuses subscriptions after it.
      await consumer.subscribe({ topics: [...topics], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Limits.partitionsConsumedConcurrently,
        eachBatch: async (payload) => {
          this.activeBatches += 1;
          this.fetchedMessages += payload.batch.messages.length;
          const work = this.consumeBatch(payload.batch, handlers, payload);
          const settled = work.catch(() => undefined);
          this.inFlight.add(settled);
          try {
            await work;
          } finally {
            this.inFlight.delete(settled);
            this.activeBatches -= 1;
          }
          if (this.activeBatches === 0) await this.fetchHandled(lingerMs);
        },
      });
      callback();
    } catch (error) {
      this.consumerState = 'crashed';
      callback(error);
    }
  }

  /**
   * Called by the batch of a fetch that finishes last: none other is running, so none is queued
   * either, since a free worker takes a queued batch at once. (Two batches that finish in the same
   * turn, before a worker has taken the next, may both linger, the first alongside that next one.)
   * kafkajs fetches again only once every batch of the last fetch is handled, so waiting here
   * delays the next fetch, once per fetch however many partitions it brought. A broker with
   * nothing new answers that fetch only when something comes, so an idle consumer costs nothing
   * more.
   */
  private async fetchHandled(lingerMs: number): Promise<void> {
    const fetched = this.fetchedMessages;
    this.fetchedMessages = 0;
    if (lingerMs > 0 && fetched < Limits.lingerBelowMessages && !this.stopping) await sleep(lingerMs);
  }

  /** Lets the batch in flight finish (its offsets are committed as it goes), then leaves the group. */
  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.inFlight);
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    await this.flushCommits();
    await this.consumer?.disconnect();
    this.consumerState = 'stopped';
  }

  private async consumeBatch(
    batch: Batch,
    handlers: Map<ContractTopic, MessageHandler>,
    control: { heartbeat(): Promise<void>; isRunning(): boolean; isStale(): boolean; resolveOffset(offset: string): void },
  ): Promise<void> {
    const topic = batch.topic as ContractTopic;
    const handler = handlers.get(topic);
    if (handler === undefined) throw new Error(`no handler for ${batch.topic}`); // resolveHandlers makes this unreachable
    const alive = () => !this.stopping && control.isRunning() && !control.isStale();
    const only = handler.extras?.[ONLY_EXTRA] as ((message: unknown) => boolean) | undefined;
    try {
      for (let start = 0; start < batch.messages.length; start += Limits.consumerChunk) {
        if (!alive()) return;
        const chunk = batch.messages.slice(start, start + Limits.consumerChunk);
        const t0 = performance.now();
        const decoded = chunk.map((raw) => this.decode(topic, batch.partition, raw));
        // Valid messages the handler declared it ignores need nothing written (see KafkaHandler's `only`).
        const needed = only === undefined ? decoded : decoded.filter((d) => !d.ok || only(d.message.payload));
        const t1 = performance.now();
        if (needed.length > 0) await this.submit(topic, handler, { decoded: needed, heartbeat: control.heartbeat, alive });
        const t2 = performance.now();
        const last = chunk[chunk.length - 1];
        if (last === undefined) continue;
        control.resolveOffset(last.offset);
        // offset + 1: the committed offset is the next message to read, not the last one read.
        this.queueCommit(topic, batch.partition, (BigInt(last.offset) + 1n).toString());
        const t3 = performance.now();
        metrics.consumerChunkSize.observe({ topic }, chunk.length);
        const produced = Number(chunk[0]?.timestamp);
        if (Number.isFinite(produced)) metrics.consumerDelaySeconds.observe({ topic }, Math.max(0, Date.now() - produced) / 1_000);
        metrics.consumerChunkSeconds.observe({ topic, phase: 'decode' }, (t1 - t0) / 1_000);
        metrics.consumerChunkSeconds.observe({ topic, phase: 'transaction' }, (t2 - t1) / 1_000);
        metrics.consumerChunkSeconds.observe({ topic, phase: 'commit' }, (t3 - t2) / 1_000);
        metrics.consumedMessages.inc({ topic }, chunk.length);
        await control.heartbeat();
      }
    } catch (error) {
      if (error instanceof BatchAbandoned) return;
      // Offsets not committed are redelivered after the rebalance or restart; the inbox makes that a no-op.
      this.options.logger.warn({ err: error, topic, partition: batch.partition }, 'batch interrupted; uncommitted messages will be redelivered');
      throw error;
    }
  }

  /**
   * Commits an applied chunk's offset within `Limits.commitIntervalMs`, together with whatever
   * else is pending: one request for all partitions, instead of a broker round trip awaited after
   * every chunk (an offset commit is a write to the broker's offsets log, and they were a large
   * part of its work per job). A commit that comes later or never costs only a redelivery, which
   * the inbox or the sequence numbers make a no-op, as they do after a crash.
   */
  private queueCommit(topic: string, partition: number, offset: string): void {
    this.toCommit.set(`${topic}\u0000${partition}`, { topic, partition, offset });
    this.scheduleFlush(Limits.commitIntervalMs);
  }

  private scheduleFlush(ms: number): void {
    if (this.stopping) return; // close() flushes
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = undefined;
      void this.flushCommits();
    }, ms);
  }

  /** Commits what is pending, one flush at a time (so a partition's commits never go backwards). */
  private flushCommits(): Promise<void> {
    this.committing = this.committing.then(async () => {
      const offsets = [...this.toCommit.values()];
      this.toCommit.clear();
      if (offsets.length === 0 || this.consumer === undefined) return;
      try {
        await this.consumer.commitOffsets(offsets);
      } catch (error) {
        // A rebalance or a broker outage: keep what no newer offset replaced, and try again.
        for (const o of offsets) {
          const key = `${o.topic}\u0000${o.partition}`;
          if (!this.toCommit.has(key)) this.toCommit.set(key, o);
        }
        this.options.logger.warn({ err: error, partitions: offsets.length }, 'offset commit failed; retrying');
        this.scheduleFlush(Limits.commitIntervalMs * 10);
      }
    });
    return this.committing;
  }

  /**
   * Hands a partition's chunk to a transaction and resolves once it is committed (or rejects as
   * applyWithRetry would). Chunks of a topic that are waiting when a transaction can start share
   * it (schedule says how many). At moderate rates a fetch brings a message or two for each of
   * several partitions, and one transaction for all of them costs the round trips of one
   * (decision 0005, stop 34). Keys never span partitions, so chunks that share a transaction
   * never touch the same keys, and a partition's next chunk is submitted only after this one.
   */
  private submit(topic: ContractTopic, handler: MessageHandler, chunk: Omit<Pending, 'settle'>): Promise<void> {
    const lane = this.lanes.get(topic) ?? this.openLane(topic);
    return new Promise<void>((resolve, reject) => {
      lane.pending.push({ ...chunk, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      this.schedule(topic, handler, lane);
    });
  }

  private openLane(topic: ContractTopic): Lane {
    const lane: Lane = { pending: [], running: 0, scheduled: false };
    this.lanes.set(topic, lane);
    return lane;
  }

  /**
   * Starts the lane's next transactions at the end of this turn: kafkajs hands over a fetch's
   * batches one after another within a turn, so waiting for it to end lets them share one.
   */
  private schedule(topic: ContractTopic, handler: MessageHandler, lane: Lane): void {
    if (lane.scheduled || lane.pending.length === 0 || lane.running >= Limits.transactionsConcurrently) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      // What waits is spread over the free transactions, so that a full machine still overlaps
      // one transaction's statements with another's work; but a transaction of a few messages
      // costs its round trips, not its messages, so few share one.
      const waiting = lane.pending.reduce((n, c) => n + c.decoded.length, 0);
      const free = Limits.transactionsConcurrently - lane.running;
      const size = Math.min(Limits.consumerChunk, Math.max(Limits.sharedTransactionFloor, Math.ceil(waiting / free)));
      while (lane.pending.length > 0 && lane.running < Limits.transactionsConcurrently) {
        const { group, messages } = takeGroup(lane.pending, size);
        metrics.consumerTransactionSize.observe({ topic }, messages);
        lane.running += 1;
        void this.applyGroup(topic, handler, group).finally(() => {
          lane.running -= 1;
          this.schedule(topic, handler, lane);
        });
      }
    });
  }

  /**
   * One transaction for a group of chunks. If it fails, each chunk is applied again on its own,
   * one after another, with the retries and the poison isolation of applyWithRetry: the group's
   * transaction rolled back, so nothing of it was applied.
   */
  private async applyGroup(topic: ContractTopic, handler: MessageHandler, group: readonly Pending[]): Promise<void> {
    if (group.length > 1) {
      try {
        await this.apply(topic, group.flatMap((c) => c.decoded), handler, undefined);
        for (const c of group) c.settle();
        return;
      } catch (error) {
        this.options.logger.debug({ err: error, topic, chunks: group.length }, 'a shared transaction failed; applying its chunks one by one');
      }
    }
    for (const c of group) {
      try {
        await this.applyWithRetry(topic, c.decoded, handler, c.heartbeat, c.alive);
        c.settle();
      } catch (error) {
        c.settle(error);
      }
    }
  }

  private decode(topic: ContractTopic, partition: number, raw: KafkaMessage): Decoded<ContractTopic> {
    const reject = (reason: DlqReason, detail: string): Decoded<ContractTopic> => ({ ok: false, partition, raw, reason, detail });
    if (raw.value === null) return reject('malformed', 'message has no value');
    if (raw.value.length > Limits.maxMessageBytes) return reject('too-large', `${raw.value.length} bytes, limit ${Limits.maxMessageBytes}`);
    let json: unknown;
    try {
      json = JSON.parse(raw.value.toString('utf8'));
    } catch (error) {
      return reject('malformed', `not JSON: ${(error as Error).message}`);
    }
    const contract = contractOf(topic);
    const parsed = contract.parser.safeParse(json);
    if (!parsed.success) return reject('invalid', describeIssues(parsed.error));
    const payload = parsed.data as never;
    return {
      ok: true,
      message: {
        topic,
        partition,
        offset: raw.offset,
        key: raw.key === null ? null : raw.key.toString('utf8'),
        messageId: (contract.messageId as (m: never) => string)(payload),
        payload,
        value: raw.value,
        headers: readHeaders(raw.headers),
      },
    };
  }

  /**
   * Applies a chunk, retrying transient failures for as long as they last. A failure that is not
   * transient is isolated message by message, so one poison message cannot hold back the others.
   */
  private async applyWithRetry(
    topic: ContractTopic,
    decoded: readonly Decoded<ContractTopic>[],
    handler: MessageHandler,
    heartbeat: () => Promise<void>,
    alive: () => boolean,
  ): Promise<void> {
    const partition = decoded[0] === undefined ? undefined : partitionOf(decoded[0]);
    const retrying = (forced?: { reason: DlqReason; detail: string }) =>
      this.retryTransient(topic, partition, () => this.apply(topic, decoded, handler, forced), heartbeat, alive);
    let failures = 0;
    for (;;) {
      try {
        await retrying();
        return;
      } catch (error) {
        if (error instanceof BatchAbandoned) throw error;
        if (decoded.length > 1) {
          for (const one of decoded) await this.applyWithRetry(topic, [one], handler, heartbeat, alive);
          return;
        }
        failures += 1;
        metrics.consumerRetries.inc({ topic, kind: 'handler' });
        if (error instanceof PermanentMessageError || failures >= Limits.handlerAttempts) {
          const reason: DlqReason = error instanceof PermanentMessageError ? error.reason : 'handler-failed';
          const detail = error instanceof PermanentMessageError ? error.detail : String((error as Error).message ?? error);
          this.options.logger.error({ err: error, topic, partition, offset: decoded[0] && offsetOf(decoded[0]) }, 'message sent to the DLQ');
          // Dead-lettering writes the inbox and DLQ rows only; the handler does not run again.
          await retrying({ reason, detail });
          return;
        }
        await this.waitAlive(Limits.initialBackoffMs * failures, heartbeat, alive);
      }
    }
  }

  /** Runs `attempt` until it succeeds or fails for a reason that is not transient (rethrown). */
  private async retryTransient(
    topic: ContractTopic,
    partition: number | undefined,
    attempt: () => Promise<void>,
    heartbeat: () => Promise<void>,
    alive: () => boolean,
  ): Promise<void> {
    const backoff = new Backoff(Limits.initialBackoffMs, this.options.config.RETRY_MAX_BACKOFF_MS);
    for (;;) {
      try {
        await attempt();
        return;
      } catch (error) {
        if (!isTransientError(error)) throw error;
        metrics.consumerRetries.inc({ topic, kind: 'transient' });
        this.options.logger.warn({ err: error, topic, partition, attempt: backoff.attempts + 1 }, 'transient failure; retrying');
        await this.waitAlive(backoff.next(), heartbeat, alive);
      }
    }
  }

  private async waitAlive(ms: number, heartbeat: () => Promise<void>, alive: () => boolean): Promise<void> {
    // Heartbeat while waiting so a long outage elsewhere does not cost the group membership.
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!alive()) throw new BatchAbandoned();
      await sleep(Math.min(1_000, until - Date.now()));
      await heartbeat().catch(() => undefined);
    }
    if (!alive()) throw new BatchAbandoned();
  }

  /** One transaction: dedupe rows, the handler's effects, DLQ rows. */
  private async apply(
    topic: ContractTopic,
    decoded: readonly Decoded<ContractTopic>[],
    handler: MessageHandler,
    forced: { reason: DlqReason; detail: string } | undefined,
  ): Promise<void> {
    const { dataSource, schema, groupId } = this.options;
    const ids = decoded.map((d) => (d.ok ? d.message.messageId : `@${topic}/${d.partition}/${d.raw.offset}`));
    // Topics whose handlers apply only what is newer (sequence numbers) need no dedupe row for a
    // valid message; a dead-lettered one always gets one, so a redelivery cannot DLQ it twice.
    const sequenced = contractOf(topic).idempotence === 'sequence';
    const tracked = decoded.map((d) => forced !== undefined || !d.ok || !sequenced);
    const offsets = decoded.map(offsetOf);
    const firstCorrelation = decoded.map((d) => (d.ok ? d.message.headers[Header.CorrelationId] : undefined)).find((c) => c !== undefined);
    const first = decoded[0];
    await withCorrelation(firstCorrelation ?? `${topic}/${first === undefined ? '?' : `${partitionOf(first)}/${offsetOf(first)}`}`, () =>
      dataSource.transaction(async (manager) => {
        const trackedIds = ids.filter((_, i) => tracked[i]);
        const inserted: { message_id: string }[] =
          trackedIds.length === 0
            ? []
            : await manager.query(
                `INSERT INTO "${schema}".inbox (consumer_group, message_id, topic, partition, "offset")
                 SELECT $1, id, $2, part, off FROM unnest($3::text[], $4::int[], $5::bigint[]) AS m(id, part, off)
                 ON CONFLICT (consumer_group, topic, message_id) DO NOTHING
                 RETURNING message_id`,
                [groupId, topic, trackedIds, decoded.filter((_, i) => tracked[i]).map(partitionOf), offsets.filter((_, i) => tracked[i])],
              );
        const fresh = new Set(inserted.map((r) => r.message_id));
        const rejections: Rejection[] = [];
        const accepted: InboundMessage<ContractTopic>[] = [];
        decoded.forEach((d, i) => {
          // Already applied, or a duplicate earlier in this chunk.
          if (tracked[i] && !fresh.delete(ids[i] as string)) return;
          if (forced !== undefined) rejections.push({ raw: rawOf(d), ...forced });
          else if (d.ok) accepted.push(d.message);
          else rejections.push({ raw: rawOf(d), reason: d.reason, detail: d.detail });
        });
        if (accepted.length > 0) {
          const batch: InboundBatch<ContractTopic> = {
            topic,
            messages: accepted,
            manager,
            reject: (message, reason, detail) => rejections.push({ raw: rawOf({ ok: true, message }), reason, detail }),
          };
          await this.invoke(handler, batch);
        }
        if (rejections.length > 0) {
          await enqueueOutbox(manager, schema, rejections.map((r) => this.toDlq(topic, r)));
          for (const r of rejections) metrics.deadLettered.inc({ topic, reason: r.reason });
        }
      }),
    );
  }

  private async invoke(handler: MessageHandler, batch: InboundBatch<ContractTopic>): Promise<void> {
    const context = new BaseRpcContext([batch.topic]);
    const result = await handler(batch, context);
    await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
  }

  private toDlq(topic: ContractTopic, r: Rejection): OutboundMessage {
    const value = r.raw.value ?? Buffer.alloc(0);
    // The original bytes, except for a message refused for its size: its head, and its size.
    const truncated = value.length > Limits.maxMessageBytes;
    return {
      topic: dlqTopicOf(topic),
      key: r.raw.key === null ? null : r.raw.key.toString(),
      value: truncated ? value.subarray(0, Limits.dlqTruncatedBytes) : value,
      headers: {
        ...r.raw.headers,
        ...(truncated ? { [Header.OriginalSize]: String(value.length) } : {}),
        [Header.ErrorCode]: r.reason,
        [Header.ErrorDetail]: r.detail.slice(0, 1_000),
        [Header.OriginalTopic]: topic,
        [Header.OriginalPartition]: String(r.raw.partition),
        [Header.OriginalOffset]: r.raw.offset,
        [Header.FirstSeen]: new Date().toISOString(),
      },
    };
  }
}

function offsetOf(d: Decoded<ContractTopic>): string {
  return d.ok ? d.message.offset : d.raw.offset;
}

function partitionOf(d: Decoded<ContractTopic>): number {
  return d.ok ? d.message.partition : d.partition;
}

function rawOf(d: Decoded<ContractTopic>): Rejection['raw'] {
  if (d.ok) return { key: d.message.key, value: d.message.value, partition: d.message.partition, offset: d.message.offset, headers: d.message.headers };
  return { key: d.raw.key, value: d.raw.value, partition: d.partition, offset: d.raw.offset, headers: readHeaders(d.raw.headers) };
}

/** Takes the waiting chunks that share a transaction: the first always, the others while the messages stay within `size`. */
function takeGroup(pending: Pending[], size: number): { group: Pending[]; messages: number } {
  let n = 1;
  let messages = pending[0]?.decoded.length ?? 0;
  while (n < pending.length && messages + (pending[n]?.decoded.length ?? 0) <= size) {
    messages += pending[n]?.decoded.length ?? 0;
    n += 1;
  }
  return { group: pending.splice(0, n), messages };
}
