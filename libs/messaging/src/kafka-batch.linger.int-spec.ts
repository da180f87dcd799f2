import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { Topic, type FxRate } from '#contracts';
import { AppSchema, createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { produce } from '../../../test/support/kafka.js';
import { waitFor } from '../../../test/support/wait.js';
import type { InboundBatch } from './inbound.js';
import { createKafka } from './kafka-client.js';
import { KafkaBatchTransport } from './kafka-batch.transport.js';
import { KafkaHandler } from './kafka-handler.decorator.js';
import { messagingEntities } from './messaging.entities.js';

jest.setTimeout(120_000);

/** Long enough that the test's last two messages, 200 ms apart, both land while the consumer waits. */
const LINGER_MS = 1_500;

const base = `L${randomUUID().replace(/[^A-Z]/gi, '').slice(0, 2).toUpperCase().padEnd(2, 'Z')}`;
/** This test's rates, as the handler was given them: one array per handler call. */
const batches: string[][] = [];

@Controller()
class LingerProbe {
  @KafkaHandler(Topic.FxRates)
  handle(@Payload() batch: InboundBatch<typeof Topic.FxRates>): Promise<void> {
    const ours = batch.messages.filter((m) => m.payload.base === base).map((m) => m.payload.rate);
    if (ours.length > 0) batches.push(ours);
    return Promise.resolve();
  }
}

describe('KafkaBatchTransport with lingerMs, on the real broker', () => {
  const config = loadConfig();
  const logger = pino({ level: 'silent' });
  let dataSource: DataSource;
  let app: INestMicroservice;

  const rate = (r: string, n: number): FxRate => ({ base, quote: 'USD', rate: r, asOf: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() });
  // One key: one partition, so that only timing decides how the messages are batched.
  const record = (f: FxRate) => ({ key: `${f.base}:${f.quote}`, value: JSON.stringify(f) });
  const seen = (r: string) => batches.some((b) => b.includes(r));

  beforeAll(async () => {
    dataSource = await createDataSource(config, { applicationName: 'linger-int', entities: [...messagingEntities(AppSchema.Gateway)] }).initialize();
    @Module({ controllers: [LingerProbe] })
    class ProbeModule {}
    app = await NestFactory.createMicroservice(ProbeModule, {
      strategy: new KafkaBatchTransport({
        groupId: `spotgrid-test.linger.${randomUUID()}`,
        topics: [Topic.FxRates],
        schema: AppSchema.Gateway,
        kafka: createKafka(config, 'linger-int', logger),
        dataSource,
        config,
        logger,
        lingerMs: LINGER_MS,
      }),
      logger: false,
    });
    await app.listen();
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
  });

  it('after a fetch of few messages, waits before fetching again: messages that arrive meanwhile come as one batch', async () => {
    // The group starts from the beginning of the topic: once this is handled, it has caught up
    // (the fetch that brought it may have brought the topic's history too, and then not lingered).
    await produce(Topic.FxRates, [record(rate('1.1', 1))]);
    await waitFor('the first rate handled', () => Promise.resolve(seen('1.1') ? true : undefined), 60_000, 10);
    // This one comes alone, in a fetch of one message: the consumer lingers after it.
    await produce(Topic.FxRates, [record(rate('1.2', 2))]);
    await waitFor('the second rate handled', () => Promise.resolve(seen('1.2') ? true : undefined), 30_000, 10);
    // Without lingering, the next fetch would already be waiting at the broker and would return 1.3
    // as soon as it landed, 200 ms before 1.4.
    await produce(Topic.FxRates, [record(rate('1.3', 3))]);
    await new Promise((r) => setTimeout(r, 200));
    await produce(Topic.FxRates, [record(rate('1.4', 4))]);
    await waitFor('the last rate handled', () => Promise.resolve(seen('1.4') ? true : undefined), 30_000, 10);
    expect(batches.at(-1)).toEqual(['1.3', '1.4']);
    expect(batches.flat()).toEqual(['1.1', '1.2', '1.3', '1.4']);
  });
});
