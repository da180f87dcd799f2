import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { KafkaBatchTransport } from '#messaging';
import { ConfigError, createRootLogger, describeConfig, JsonLogger, loadConfig, portOf, type Config } from '#platform';
import { ConsumerHandle } from './consumer-handle.js';
import { ProblemDetailsFilter } from './problem.filter.js';
import { KAFKA, type ServiceDefinition } from './tokens.js';

/** Largest HTTP request body any service accepts. */
export const MAX_BODY_BYTES = 1_048_576;

/** Exit code for a configuration error (sysexits EX_CONFIG): a supervisor should not restart it. */
const EX_CONFIG = 78;

function readConfigOrExit(app: string): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${app}: cannot start.\n${error.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw error;
  }
}

/**
 * Runs one Spotgrid service: JSON logs, the HTTP surface (/health, /ready, /metrics and the app's
 * routes), the Kafka consumer when the app consumes topics, and a graceful stop on SIGTERM/SIGINT
 * that finishes in-flight work and commits offsets, within SHUTDOWN_TIMEOUT_MS.
 */
export async function runService(definition: ServiceDefinition, rootModule: unknown): Promise<INestApplication> {
  const config = readConfigOrExit(definition.app);
  const logger = createRootLogger(definition.app, config.LOG_LEVEL);
  logger.info({ config: describeConfig(config) }, 'starting');

  const app = await NestFactory.create<NestExpressApplication>(rootModule as never, {
    logger: new JsonLogger(logger),
    rawBody: true,
    abortOnError: false,
  });
  // Nothing in an answer says what the server runs on.
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: MAX_BODY_BYTES });
  app.useGlobalFilters(new ProblemDetailsFilter());

  if (definition.consumes.length > 0) {
    const transport = new KafkaBatchTransport({
      groupId: `${config.KAFKA_CLIENT_ID}.${definition.app}`,
      topics: definition.consumes,
      schema: definition.schema,
      kafka: app.get<Kafka>(KAFKA),
      dataSource: app.get(DataSource),
      config,
      logger: logger.child({ component: 'kafka-consumer' }),
      lingerMs: definition.lingerMs ?? 0,
    });
    app.get(ConsumerHandle).attach(transport);
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: false });
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight work');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    app
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await app.startAllMicroservices();
  const port = portOf(config, definition.app);
  await app.listen(port, config.HTTP_HOST);
  logger.info({ url: `http://${config.HTTP_HOST}:${port}`, ready: `http://${config.HTTP_HOST}:${port}/ready` }, 'ready');
  return app;
}
