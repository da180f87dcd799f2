import { readFileSync } from 'node:fs';
import kafkajs, { type Kafka, type KafkaConfig, type logCreator, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '#platform';
import { ALL_TOPICS, dlqTopicOf, type TopicName } from '#contracts';
// Before any client is made: kafkajs's idle request queues spin on a 1 ms timer otherwise.
import './kafkajs-idle-fix.js';

const { Kafka: KafkaClient, logLevel: LogLevel, Partitioners } = kafkajs;

/** kafkajs logs through the service's JSON logger, at most at `warn` unless debugging. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const child = { ...extra, logger: 'kafkajs' };
      switch (level) {
        case LogLevel.ERROR:
          logger.error(child, message);
          break;
        case LogLevel.WARN:
          logger.warn(child, message);
          break;
        case LogLevel.INFO:
          logger.info(child, message);
          break;
        default:
          logger.debug(child, message);
      }
    };
}

/**
 * TLS and SASL for the broker connections, from the configuration: nothing by default (plaintext,
 * for a broker on loopback). `readCa` reads KAFKA_SSL_CA_FILE (a parameter, so this stays testable).
 */
export function kafkaSecurity(config: Config, readCa: (path: string) => string = (p) => readFileSync(p, 'utf8')): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const ssl = config.KAFKA_SSL
    ? config.KAFKA_SSL_CA_FILE === undefined && config.KAFKA_SSL_REJECT_UNAUTHORIZED
      ? true
      : { rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED, ...(config.KAFKA_SSL_CA_FILE === undefined ? {} : { ca: [readCa(config.KAFKA_SSL_CA_FILE)] }) }
    : undefined;
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  let sasl: KafkaConfig['sasl'];
  if (username !== undefined && password !== undefined) {
    // One branch per mechanism: kafkajs types each mechanism's options separately.
    if (mechanism === 'plain') sasl = { mechanism, username, password };
    else if (mechanism === 'scram-sha-256') sasl = { mechanism, username, password };
    else if (mechanism === 'scram-sha-512') sasl = { mechanism, username, password };
  }
  return { ...(ssl === undefined ? {} : { ssl }), ...(sasl === undefined ? {} : { sasl }) };
}

export function createKafka(config: Config, clientId: string, logger: Logger): Kafka {
  return new KafkaClient({
    ...kafkaSecurity(config),
    clientId: `${config.KAFKA_CLIENT_ID}.${clientId}`,
    brokers: config.KAFKA_BROKERS,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    logLevel: config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? LogLevel.INFO : LogLevel.WARN,
    logCreator: pinoLogCreator(logger),
    // Reconnects forever with capped back-off: a broker restart is weather, not an error to exit on.
    retry: { initialRetryTime: 200, maxRetryTime: config.RETRY_MAX_BACKOFF_MS, retries: 8 },
  });
}

/**
 * An idempotent producer: the broker drops a retried batch it already has, so a network retry
 * never writes a message twice, and order per partition holds (one request in flight).
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Keys are hashed like the Java client does, so other producers agree on partitions.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Creates every Spotgrid topic and its DLQ if absent. Idempotent; run by each app at start, so a
 * fresh broker needs no separate provisioning step.
 */
export async function ensureTopics(kafka: Kafka, config: Config, topics: readonly TopicName[] = ALL_TOPICS): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = topics.flatMap((t) => [t, dlqTopicOf(t)]).filter((t) => !existing.has(t));
    if (wanted.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({
        topic,
        numPartitions: config.KAFKA_TOPIC_PARTITIONS,
        replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      })),
    });
    // A new topic's leader is known to the controller before the broker serves it: until then
    // offset requests fail with NOT_LEADER_FOR_PARTITION (seen on a fresh KRaft broker). Wait
    // until every new topic answers, so callers can read offsets straight away.
    for (const topic of wanted) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await admin.fetchTopicOffsets(topic);
          break;
        } catch (error) {
          if (attempt >= 50 || (error as { retriable?: boolean }).retriable !== true) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}
