import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer, Kafka } from 'kafkajs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import { contractOf, Topic, type Quote } from '#contracts';
import { type Config } from '#platform';
import { CONFIG, KAFKA, LOGGER } from '#runtime';

/**
 * Quote changes fanned out to the gateway's stream clients. Each gateway instance reads the whole
 * topic from the moment it starts, in a group of its own (a broadcast, not a work queue), and
 * keeps no offsets worth resuming: a client that reconnects gets a fresh snapshot first.
 */
@Injectable()
export class QuoteStream implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly quotes$ = new Subject<Quote>();
  private consumer: Consumer | undefined;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get changes(): Observable<Quote> {
    return this.quotes$.asObservable();
  }

  async onApplicationBootstrap(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `${this.config.KAFKA_CLIENT_ID}.gateway-stream.${hostname()}.${process.pid}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: Topic.Quotes, fromBeginning: false });
    const schema = contractOf(Topic.Quotes).schema;
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const parsed = schema.safeParse(JSON.parse(message.value?.toString('utf8') ?? 'null'));
          if (parsed.success) this.quotes$.next(parsed.data);
        } catch (error) {
          // market-data validated it before publishing: a bad quote here is a bug worth a log line.
          this.logger.warn({ err: error }, 'unreadable quote on the stream');
        }
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.quotes$.complete();
    await this.consumer?.disconnect();
  }
}
