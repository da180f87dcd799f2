import kafkajs, { type IHeaders, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { readHeaders, type HeaderMap } from '#messaging';

const { Kafka, logLevel, Partitioners } = kafkajs;

export function testKafka(clientId = 'spotgrid-tests') {
  return new Kafka({ clientId, brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

export interface RawMessage {
  key: string | null;
  value: string | Buffer | null;
  headers?: IHeaders;
  /** Where it goes, instead of where its key hashes to. */
  partition?: number;
}

/** A plain producer, as an outside party would use: no contract validation, any bytes. */
export async function withProducer<T>(fn: (producer: Producer) => Promise<T>): Promise<T> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    return await fn(producer);
  } finally {
    await producer.disconnect();
  }
}

export async function produce(topic: string, messages: RawMessage[]): Promise<void> {
  await withProducer((p) => p.send({ topic, acks: -1, messages }).then(() => undefined));
}

export interface Collected {
  key: string | null;
  value: Buffer | null;
  headers: HeaderMap;
}

/** Where a topic ends now, per partition: take it before acting, then collect from it. */
export type Mark = { readonly topic: string; readonly offsets: readonly { partition: number; offset: string }[] };

export async function mark(topic: string): Promise<Mark> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return { topic, offsets: offsets.map((o) => ({ partition: o.partition, offset: o.high })) };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a topic from `since` (a mark taken before the test acted) until `done` says it has what
 * it needs, or the time runs out. A shared local broker may hold millions of older messages.
 */
export async function collect(since: Mark, keep: (m: Collected) => boolean, done: (all: Collected[]) => boolean, timeoutMs = 30_000): Promise<Collected[]> {
  const topic = since.topic;
  const consumer = testKafka().consumer({ groupId: `spotgrid-tests.${randomUUID()}`, maxWaitTimeInMs: 100 });
  const found: Collected[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collected ${found.length} messages from ${topic} before timing out`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const m = { key: message.key?.toString() ?? null, value: message.value, headers: readHeaders(message.headers) };
          if (keep(m)) found.push(m);
          if (done(found)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
      for (const o of since.offsets) consumer.seek({ topic, partition: o.partition, offset: o.offset });
    });
    return found;
  } finally {
    await consumer.disconnect();
  }
}
