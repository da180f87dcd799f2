import type { Kafka, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ContractTopic } from '#contracts';
import type { AppSchemaName, EntityList } from '#persistence';
import type { AppName, Config } from '#platform';

/** Injection tokens of the pieces every service shares. */
export const CONFIG = Symbol('spotgrid.config');
export const LOGGER = Symbol('spotgrid.logger');
export const KAFKA = Symbol('spotgrid.kafka');
export const PRODUCER = Symbol('spotgrid.producer');
export const REDIS = Symbol('spotgrid.redis');
export const SERVICE = Symbol('spotgrid.service');

export type { Config, Kafka, Producer, Redis, Logger };

/** What makes one app: its name, its schema, its tables and the topics it consumes. */
export interface ServiceDefinition {
  readonly app: AppName;
  readonly schema: AppSchemaName;
  readonly entities: EntityList;
  readonly consumes: readonly ContractTopic[];
  /**
   * How long the app's consumer waits after a small batch before fetching again (default 0).
   * For apps whose consumption is on no latency budget: at moderate rates the messages of a job
   * (several events, a few milliseconds apart) then come as one batch, with one fetch, one
   * transaction and one commit, instead of one of each per message.
   */
  readonly lingerMs?: number;
}
