import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '#platform';
import { createIdempotentProducer, createKafka } from './kafka-client.js';
import { kafkaRequestQueuePrototype, patchKafkaRequestQueue } from './kafkajs-idle-fix.js';

jest.setTimeout(60_000);

describe("kafkajs's idle request queues on the real broker", () => {
  let producer: Producer | undefined;

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('are patched (the installed kafkajs still has the loop the patch replaces)', () => {
    expect(patchKafkaRequestQueue()).toBe(true);
  });

  it('check for pending requests only while some are pending: an idle connection does not spin', async () => {
    const config = loadConfig();
    const kafka = createKafka(config, `spotgrid-test.idle.${randomUUID()}`, pino({ level: 'silent' }));
    // A topic of its own: no service or other test consumes what this sends.
    const topic = 'spotgrid-test.idle-probe';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'idle-probe', value: '{}' }] });

    const proto = kafkaRequestQueuePrototype();
    const original = proto.checkPendingRequests;
    let checks = 0;
    proto.checkPendingRequests = function (this: ThisParameterType<typeof original>) {
      checks += 1;
      original.call(this);
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      proto.checkPendingRequests = original;
    }
    // Unpatched, each broker connection checks every millisecond: hundreds in half a second.
    expect(checks).toBeLessThanOrEqual(2);
  });
});
