import { Inject, Injectable } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Topic } from '#contracts';
import { CONFIG, KAFKA, LOGGER, type Config } from '#runtime';
import { TopicBroadcast } from './topic-broadcast.js';

/** Job lifecycle steps as every stage publishes them, for the live job board. */
@Injectable()
export class JobStream extends TopicBroadcast<typeof Topic.JobEvents> {
  constructor(@Inject(KAFKA) kafka: Kafka, @Inject(CONFIG) config: Config, @Inject(LOGGER) logger: Logger) {
    super(Topic.JobEvents, 'jobs-stream', kafka, config, logger);
  }
}
