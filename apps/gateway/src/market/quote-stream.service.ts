import { Inject, Injectable } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Topic } from '#contracts';
import { CONFIG, KAFKA, LOGGER, type Config } from '#runtime';
import { TopicBroadcast } from '../live/topic-broadcast.js';

/** Quote changes, for the quote stream and the dashboard's live depth. */
@Injectable()
export class QuoteStream extends TopicBroadcast<typeof Topic.Quotes> {
  constructor(@Inject(KAFKA) kafka: Kafka, @Inject(CONFIG) config: Config, @Inject(LOGGER) logger: Logger) {
    super(Topic.Quotes, 'stream', kafka, config, logger);
  }
}
