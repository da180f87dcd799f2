/**
 * Every loop, batch and buffer in the plumbing has a bound, named here. Changing one is a
 * decision: the benchmarks in the issues measure against these values.
 */
export const Limits = {
  /** Messages handled in one database transaction. */
  consumerChunk: 2_000,
  /** Bytes a consumer fetches per partition per request. */
  consumerMaxBytesPerPartition: 2_097_152,
  /**
   * Partitions whose batches kafkajs hands over at once: more than a consumer holds with the
   * default six partitions a topic (market-data: three topics, 18), so that every batch of a fetch
   * is decoded in the same turn and the small ones can share a transaction. With more, the rest
   * wait for a free worker, as they did before: they share less, and nothing else changes.
   */
  partitionsConsumedConcurrently: 64,
  /**
   * Transactions a consumer runs at once per topic: one overlaps another's work, on two cores.
   * Chunks waiting for one share it (see sharedTransactionFloor). Keys never span partitions, so
   * concurrent transactions never contend for the same keys.
   */
  transactionsConcurrently: 3,
  /**
   * Waiting chunks share a transaction up to this many messages even when another transaction
   * could start: below it, a transaction costs its round trips more than its messages.
   */
  sharedTransactionFloor: 250,
  /** Largest message value accepted on any topic; larger ones go to the DLQ as `too-large`. */
  maxMessageBytes: 262_144,
  /**
   * Longest an applied chunk's offset waits before it is committed (batched with the others).
   * Bounds what a crash redelivers beyond the chunk in flight.
   */
  commitIntervalMs: 100,
  /**
   * A consumer that lingers (`lingerMs`) does so only after a fetch that brought fewer messages
   * than this: a large fetch means messages are queueing, and the next has plenty without waiting.
   */
  lingerBelowMessages: 16,
  /** Attempts at a message whose handler fails for a reason that is not transient, before the DLQ. */
  handlerAttempts: 3,
  /** First back-off after a transient failure; doubles up to RETRY_MAX_BACKOFF_MS. */
  initialBackoffMs: 100,
  /** Outbox rows published per producer round trip. */
  outboxBatch: 1_000,
  /**
   * Bytes of message values per producer request. The broker refuses a record batch over its
   * message.max.bytes (1 MiB by default); one request of many DLQ copies must stay under it.
   */
  outboxBatchBytes: 786_432,
  /** A too-large message's DLQ copy keeps this much of its value (the whole would be refused too). */
  dlqTruncatedBytes: 65_536,
  /** The relay polls this often even when no NOTIFY arrives (a NOTIFY can be lost on reconnect). */
  outboxPollMs: 250,
  /** Time a readiness probe waits for PostgreSQL, Redis or the broker before calling it down. */
  probeTimeoutMs: 2_000,
  /** Inbox rows are kept this long; late duplicates older than this are no longer detected. */
  inboxRetentionDays: 40,
} as const;
