import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
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

/** How often the handler saw each message (in memory: this counts attempts, committed or not). */
const attempts = new Map<string, number>();

/** A rate the probe declares it ignores (KafkaHandler's `only`): the transport must not hand it over. */
const IGNORED = /^7\.77/;

@Controller()
class FxProbe {
  @KafkaHandler(Topic.FxRates, { only: (f) => !IGNORED.test(f.rate) })
  async handle(@Payload() batch: InboundBatch<typeof Topic.FxRates>): Promise<void> {
    for (const m of batch.messages) {
      const tag = `${m.payload.base}/${m.payload.rate}`;
      attempts.set(tag, (attempts.get(tag) ?? 0) + 1);
      if (m.payload.rate === '666') throw new PermanentMessageError('rejected', 'the rate of the beast');
      if (m.payload.rate === '500') throw new Error('a bug in the handler');
      if (m.payload.rate === '403') {
        batch.reject(m, 'unauthenticated', 'signed with a revoked key');
        continue;
      }
      // The effect is written in the batch's transaction: it exists if and only if the batch commits.
      await batch.manager.query('INSERT INTO transport_probe.applied (tag) VALUES ($1)', [tag]);
    }
  }
}

describe('KafkaBatchTransport on the real broker and database', () => {
  const config = loadConfig();
  const logger = pino({ level: 'silent' });
  const base = `Q${randomUUID().replace(/[^A-Z]/gi, '').slice(0, 2).toUpperCase().padEnd(2, 'Z')}`;
  let stack: TransportProbeStack;
  let app: INestMicroservice;
  const groupId = `spotgrid-test.transport.${randomUUID()}`;

  const rate = (r: string, n: number): FxRate => ({ base, quote: 'USD', rate: r, asOf: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() });
  const record = (f: FxRate) => ({ key: `${f.base}:${f.quote}`, value: JSON.stringify(f) });

  const applied = () => stack.applied(base);

  beforeAll(async () => {
    stack = await startTransportProbeStack(config, logger, 'transport-int');
    const { kafka, dataSource } = stack;
    @Module({ controllers: [FxProbe] })
    class ProbeModule {}
    app = await NestFactory.createMicroservice(ProbeModule, {
      strategy: new KafkaBatchTransport({
        groupId,
        topics: [Topic.FxRates],
        schema: AppSchema.Gateway,
        kafka,
        dataSource,
        config,
        logger,
      }),
      logger: false,
    });
    await app.listen();
  });

  afterAll(async () => {
    await app?.close();
    await stack?.stop();
  });

  it('isolates a poison message: the rest of the batch is applied once, the poison goes to the DLQ', async () => {
    const since = await mark(dlqTopicOf(Topic.FxRates));
    await produce(Topic.FxRates, [record(rate('1.1', 1)), record(rate('666', 2)), record(rate('1.2', 3)), record(rate('403', 4)), record(rate('500', 5)), record(rate('1.3', 6))]);
    await waitFor('good messages applied', async () => ((await applied()).length >= 3 ? true : undefined));
    const dead = await collect(since, (m) => m.key === `${base}:USD`, (all) => all.length >= 3);
    const reasons = Object.fromEntries(dead.map((m) => [JSON.parse(m.value?.toString() ?? '{}').rate, m.headers[Header.ErrorCode]]));
    expect(reasons).toEqual({ '666': 'rejected', '403': 'unauthenticated', '500': 'handler-failed' });
    expect(await applied()).toEqual([`${base}/1.1`, `${base}/1.2`, `${base}/1.3`]);
    // A bug is retried a bounded number of times before the DLQ; a permanent error is not retried alone.
    expect(attempts.get(`${base}/500`)).toBeGreaterThanOrEqual(3);
    expect(attempts.get(`${base}/666`)).toBeLessThanOrEqual(2);
  });

  it('skips what the handler declared it ignores, and still moves the partition past it', async () => {
    await produce(Topic.FxRates, [record(rate('7.77', 7)), record(rate('1.4', 8))]);
    await waitFor('the message after the ignored one applied', async () => ((await applied()).includes(`${base}/1.4`) ? true : undefined));
    expect(attempts.has(`${base}/7.77`)).toBe(false);
    // A chunk with nothing for the handler: no transaction, but its offset is committed all the same.
    await produce(Topic.FxRates, [record(rate('7.770', 9)), record(rate('7.7701', 10))]);
    const admin = stack.kafka.admin();
    await admin.connect();
    try {
      await waitFor('the group caught up with the topic', async () => {
        const ends = await admin.fetchTopicOffsets(Topic.FxRates);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [Topic.FxRates] });
        const behind = ends.filter((e) => committed?.partitions.find((p) => p.partition === e.partition)?.offset !== e.high && e.high !== '0');
        return behind.length === 0 ? true : undefined;
      });
    } finally {
      await admin.disconnect();
    }
    expect([...attempts.keys()].filter((k) => k.startsWith(`${base}/7.77`))).toEqual([]);
  });

  it('publishes what the outbox holds and empties it', async () => {
    await waitFor('outbox drained', async () => {
      const rows: { n: string }[] = await stack.dataSource.query('SELECT count(*) AS n FROM gateway.outbox');
      return rows[0]?.n === '0' ? true : undefined;
    });
    expect(stack.relay.publishedCount).toBeGreaterThanOrEqual(3);
  });
});
