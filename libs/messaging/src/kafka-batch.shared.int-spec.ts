import 'reflect-metadata';
import { afterEach, beforeAll, afterAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { dlqTopicOf, Topic, type FxRate } from '#contracts';
import { AppSchema } from '#persistence';
import { loadConfig } from '#platform';
import { collect, mark, produce } from '../../../test/support/kafka.js';
import { startTransportProbeStack, type TransportProbeStack } from '../../../test/support/transport-probe.js';
import { waitFor } from '../../../test/support/wait.js';
import { PermanentMessageError } from './errors.js';
import { Header } from './headers.js';
import type { InboundBatch } from './inbound.js';
import { KafkaBatchTransport } from './kafka-batch.transport.js';
import { KafkaHandler } from './kafka-handler.decorator.js';

jest.setTimeout(120_000);

const base = `S${randomUUID().replace(/[^A-Z]/gi, '').slice(0, 2).toUpperCase().padEnd(2, 'Z')}`;
/** Each call of the handler with messages of this run: the partitions and rates it was handed. */
const calls: { partitions: number[]; rates: string[] }[] = [];

@Controller()
class SharedProbe {
  @KafkaHandler(Topic.FxRates)
  async handle(@Payload() batch: InboundBatch<typeof Topic.FxRates>): Promise<void> {
    const ours = batch.messages.filter((m) => m.payload.base === base);
    if (ours.length > 0) calls.push({ partitions: [...new Set(ours.map((m) => m.partition))].sort(), rates: ours.map((m) => m.payload.rate) });
    for (const m of ours) {
      if (m.payload.rate === '666') throw new PermanentMessageError('rejected', 'the rate of the beast');
      await batch.manager.query('INSERT INTO transport_probe.applied (tag) VALUES ($1)', [`${base}/${m.payload.rate}`]);
    }
  }
}

/**
 * At moderate rates a fetch brings a message or two for each of several partitions. The transport
 * applies them in one transaction (decision 0005, stop 34); these tests make the fetch certain by
 * producing everything before the consumer group starts, at the offsets where the topic ended.
 */
describe('KafkaBatchTransport: chunks of several partitions share a transaction', () => {
  const config = loadConfig();
  const logger = pino({ level: 'silent' });
  const partitions = config.KAFKA_TOPIC_PARTITIONS;
  let stack: TransportProbeStack;
  let app: INestMicroservice | undefined;

  const rate = (r: string, n: number): FxRate => ({ base, quote: 'USD', rate: r, asOf: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() });
  // One key, any partition: the probe reads the partition each message came from.
  const record = (partition: number, r: string, n: number) => ({ key: `${base}:USD`, value: JSON.stringify(rate(r, n)), partition });

  const applied = () => stack.applied(base);

  /** Produces the records, then starts a new group where the topic ended before them. */
  async function consumeFromHere(records: ReturnType<typeof record>[]): Promise<string> {
    const groupId = `spotgrid-test.shared.${randomUUID()}`;
    const here = await mark(Topic.FxRates);
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId, topic: Topic.FxRates, partitions: [...here.offsets] });
    } finally {
      await admin.disconnect();
    }
    await produce(Topic.FxRates, records);
    @Module({ controllers: [SharedProbe] })
    class ProbeModule {}
    app = await NestFactory.createMicroservice(ProbeModule, {
      strategy: new KafkaBatchTransport({ groupId, topics: [Topic.FxRates], schema: AppSchema.Gateway, kafka: stack.kafka, dataSource: stack.dataSource, config, logger }),
      logger: false,
    });
    await app.listen();
    return groupId;
  }

  beforeAll(async () => {
    stack = await startTransportProbeStack(config, logger, 'shared-int');
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    calls.length = 0;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('hands one fetch of every partition to the handler at once, in one transaction', async () => {
    const since = await mark(dlqTopicOf(Topic.FxRates));
    const all = Array.from({ length: partitions }, (_, p) => p);
    // Two, on the first partition and the last: whichever chunk comes first, one of them is not in it.
    const garbled = [0, partitions - 1];
    const groupId = await consumeFromHere([...all.map((p) => record(p, `1.${p}`, p)), ...garbled.map((p) => ({ key: `${base}:USD`, value: `not json ${p}`, partition: p }))]);
    await waitFor('every partition applied', async () => ((await applied()).length >= partitions ? true : undefined));
    expect(calls.map((c) => c.partitions)).toEqual([all]);
    expect((await applied()).sort()).toEqual(all.map((p) => `${base}/1.${p}`));
    // The garbled messages went to the DLQ from the shared transaction, each under its own partition.
    const dead = await collect(since, (m) => m.key === `${base}:USD`, (found) => found.length >= garbled.length);
    expect(dead.map((m) => [m.value?.toString(), m.headers[Header.ErrorCode], m.headers[Header.OriginalPartition]]).sort()).toEqual(garbled.map((p) => [`not json ${p}`, 'malformed', String(p)]));
    const inbox: { partition: number }[] = await stack.dataSource.query('SELECT partition FROM gateway.inbox WHERE consumer_group = $1 ORDER BY partition', [groupId]);
    expect(inbox).toEqual(garbled.map((partition) => ({ partition })));
  });

  it('isolates a poison in a shared transaction: the other partitions apply once, the poison goes to the DLQ with its own partition', async () => {
    const since = await mark(dlqTopicOf(Topic.FxRates));
    const poisoned = 1;
    const all = Array.from({ length: partitions }, (_, p) => p);
    const records = all.flatMap((p) => (p === poisoned ? [record(p, `2.${p}`, 10), record(p, '666', 11), record(p, `2.${p}1`, 12)] : [record(p, `2.${p}`, 10)]));
    await consumeFromHere(records);
    const goods = records.map((r) => (JSON.parse(r.value) as FxRate).rate).filter((r) => r !== '666');
    await waitFor('every good rate applied', async () => ((await applied()).filter((t) => t.includes('/2.')).length >= goods.length ? true : undefined));
    const dead = await collect(since, (m) => m.key === `${base}:USD`, (found) => found.length >= 1);
    expect(dead.map((m) => [JSON.parse(m.value?.toString() ?? '{}').rate, m.headers[Header.ErrorCode], m.headers[Header.OriginalPartition]])).toEqual([['666', 'rejected', String(poisoned)]]);
    // The shared attempt rolled back; each chunk was applied again on its own, and exactly once.
    expect(calls[0]?.partitions).toEqual(all);
    expect((await applied()).filter((t) => t.includes('/2.')).sort()).toEqual(goods.map((r) => `${base}/${r}`).sort());
  });
});
