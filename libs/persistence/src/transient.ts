/**
 * Whether a failure may pass by itself (the database restarting, a lost connection, a lock
 * conflict), in which case the work is retried with back-off and never dropped. Everything else
 * is a property of the input, and retrying it would only block the queue behind it.
 */
const TRANSIENT_PG_CLASSES = ['08', '53', '57', '58'] as const; // connection, resources, operator intervention, system
const TRANSIENT_PG_CODES = new Set(['40001', '40P01', '55P03']); // serialization, deadlock, lock not available
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** kafkajs errors that mean the broker is unreachable or busy (its names, with or without "Error"). */
const TRANSIENT_KAFKA_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);
const TRANSIENT_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /terminating connection/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /Connection is not established/i,
  /Cannot use a pool after calling end/i,
];

export function isTransientError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; driverError?: unknown; retriable?: unknown; name?: unknown };
  if (e.retriable === true) return true;
  if (typeof e.name === 'string' && TRANSIENT_KAFKA_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string') {
    if (TRANSIENT_NODE_CODES.has(e.code) || TRANSIENT_PG_CODES.has(e.code)) return true;
    if (e.code.length === 5 && TRANSIENT_PG_CLASSES.some((c) => (e.code as string).startsWith(c))) return true;
  }
  if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(e.message as string))) return true;
  return isTransientError(e.driverError, depth + 1) || isTransientError(e.cause, depth + 1);
}
