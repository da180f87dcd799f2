/**
 * Moves the test consumer groups to the end of every Spotgrid topic before a test run, so the
 * services under test see only what this run produces, not what a benchmark or an earlier run
 * left on the shared local broker. The groups get committed offsets on every partition, so a
 * service killed and restarted by a test resumes exactly where it was.
 */
import { Queue } from 'bullmq';
import kafkajs from 'kafkajs';
import { ALL_TOPICS, QueueName } from '#contracts';
import { ensureTopics } from '#messaging';
import { parseConfig } from '#platform';
import { bullConnectionOf } from '#runtime';

const { Kafka, logLevel } = kafkajs;
const config = parseConfig(process.env);
const kafka = new Kafka({ clientId: 'spotgrid-tests', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
await ensureTopics(kafka, config);
const admin = kafka.admin();
await admin.connect();
/** Topics the services just created may not have a leader in the metadata yet: ask again. */
async function endsOf(topic: string, attempts = 50): Promise<{ topic: string; partition: number; offset: string }[]> {
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => ({ topic, partition: o.partition, offset: o.high }));
  } catch (error) {
    if (attempts <= 1 || (error as { retriable?: boolean }).retriable !== true) throw error;
    await new Promise((r) => setTimeout(r, 200));
    return endsOf(topic, attempts - 1);
  }
}
const ends = await Promise.all(ALL_TOPICS.map((topic) => endsOf(topic)));
await admin.disconnect();

// admin.setOffsets joins the group once per topic (seconds each); one join per group commits all.
const apps = ['gateway', 'market-data', 'matching-engine', 'dispatcher', 'billing'];
await Promise.all(
  apps.map(async (app) => {
    const consumer = kafka.consumer({ groupId: `${config.KAFKA_CLIENT_ID}.${app}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [...ALL_TOPICS] });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    // Joins the group; what it may fetch meanwhile is ignored and nothing is auto-committed.
    await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
    await joined;
    await consumer.commitOffsets(ends.flat());
    await consumer.disconnect();
  }),
);
// The test queues start empty too: no job of an earlier run is picked up by this one.
for (const name of Object.values(QueueName)) {
  const queue = new Queue(name, { connection: bullConnectionOf(config), prefix: config.QUEUE_PREFIX });
  await queue.obliterate({ force: true });
  await queue.close();
}
process.stdout.write(`skip-backlog: ${apps.length} test consumer groups start at the end of ${ALL_TOPICS.length} topics\n`);
// A consumer's fetch loop may still hold a timer after disconnect; this script is done.
process.exit(0);
