import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Kafka, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { createIdempotentProducer, createKafka, ensureTopics, messagingEntities, OutboxRelay } from '#messaging';
import { createDataSource } from '#persistence';
import { createRootLogger, loadConfig, type Config } from '#platform';
import { AccessGuard } from './access/access.guard.js';
import { RequestShapeInterceptor } from './access/request-shape.interceptor.js';
import { ConsumerHandle } from './consumer-handle.js';
import { createRedis, initializeDataSource } from './connections.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { CONFIG, KAFKA, LOGGER, PRODUCER, REDIS, SERVICE, type ServiceDefinition } from './tokens.js';

/**
 * Starts the outbox relay once everything is up, and on shutdown closes in dependency order,
 * after Nest has closed the Kafka transport (which finishes and commits its batch in flight):
 * relay (finishes its round) → producer → Redis → database.
 */
@Injectable()
class ServiceLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly relay: OutboxRelay,
    @Inject(PRODUCER) private readonly producer: Producer,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.producer.disconnect().catch(() => undefined);
    this.redis.disconnect();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class ServiceModule {
  static forApp(definition: ServiceDefinition): DynamicModule {
    return {
      module: ServiceModule,
      global: true,
      imports: [TerminusModule],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE, useValue: definition },
        // Every HTTP route of every service goes through one door: its declared access policy.
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: RequestShapeInterceptor },
        { provide: CONFIG, useFactory: () => loadConfig() },
        { provide: LOGGER, useFactory: (config: Config) => createRootLogger(definition.app, config.LOG_LEVEL), inject: [CONFIG] },
        {
          provide: DataSource,
          useFactory: (config: Config, logger: Logger) =>
            initializeDataSource(
              createDataSource(config, {
                applicationName: definition.app,
                entities: [...messagingEntities(definition.schema), ...(definition.entities as unknown[])] as never,
              }),
              logger,
            ),
          inject: [CONFIG, LOGGER],
        },
        { provide: KAFKA, useFactory: (config: Config, logger: Logger) => createKafka(config, definition.app, logger), inject: [CONFIG, LOGGER] },
        {
          provide: PRODUCER,
          useFactory: async (kafka: Kafka, config: Config) => {
            await ensureTopics(kafka, config);
            const producer = createIdempotentProducer(kafka);
            await producer.connect();
            return producer;
          },
          inject: [KAFKA, CONFIG],
        },
        { provide: REDIS, useFactory: (config: Config) => createRedis(config, definition.app), inject: [CONFIG] },
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, producer: Producer, config: Config, logger: Logger) =>
            new OutboxRelay(dataSource, definition.schema, producer, config, logger.child({ component: 'outbox-relay' })),
          inject: [DataSource, PRODUCER, CONFIG, LOGGER],
        },
        ConsumerHandle,
        ServiceLifecycle,
      ],
      exports: [SERVICE, CONFIG, LOGGER, DataSource, KAFKA, PRODUCER, REDIS, OutboxRelay, ConsumerHandle],
    };
  }
}
