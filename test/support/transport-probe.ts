import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { createIdempotentProducer, createKafka, messagingEntities, OutboxRelay } from '#messaging';
import { AppSchema, createDataSource } from '#persistence';
import type { Config } from '#platform';

/**
 * What a test of the Kafka transport stands on: the database, with a scratch table for a probe
 * handler's effects outside every app schema; a broker client; and a relay publishing the gateway
 * schema's outbox, where the transport writes its DLQ copies.
 */
export interface TransportProbeStack {
  readonly dataSource: DataSource;
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly relay: OutboxRelay;
  /** The tags the probe applied under `base`, in the database's order. */
  applied(base: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startTransportProbeStack(config: Config, logger: Logger, name: string): Promise<TransportProbeStack> {
  const dataSource = await createDataSource(config, { applicationName: name, entities: [...messagingEntities(AppSchema.Gateway)] }).initialize();
  await dataSource.query('CREATE SCHEMA IF NOT EXISTS transport_probe');
  await dataSource.query('CREATE TABLE IF NOT EXISTS transport_probe.applied (tag text NOT NULL)');
  const kafka = createKafka(config, name, logger);
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const relay = new OutboxRelay(dataSource, AppSchema.Gateway, producer, config, logger);
  relay.start();
  return {
    dataSource,
    kafka,
    producer,
    relay,
    applied: async (base) =>
      (await dataSource.query('SELECT tag FROM transport_probe.applied WHERE tag LIKE $1 ORDER BY tag', [`${base}/%`])).map((r: { tag: string }) => r.tag),
    stop: async () => {
      await relay.stop();
      await producer.disconnect();
      await dataSource.destroy();
    },
  };
}
