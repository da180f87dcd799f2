import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encodeMessage, createIdempotentProducer, createKafka, ensureTopics } from '#messaging';
import { describeIssues, energyTariffSchema, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, spotPriceTickSchema, Topic } from '#contracts';
import { ConfigError, createRootLogger, loadConfig } from '#platform';
import { convert, effectiveAt, FeedFormatError, FORMATS, shift, type FeedFormat, type FeedMessage } from './formats.js';
import { issueFeedKey, type IssuedKey } from './keys.js';

const USAGE = `usage: npm run feed -- --file F --format ${FORMATS.join('|')} [options]

  --speed X          publish at X times the speed of the file's clock (default: as fast as possible)
  --shift-to-now     move every instant so the file's first message takes effect now
  --end-at-now       move every instant so the file's last message takes effect now (history up to now)
  --shift-to T       move every instant so the file's first message takes effect at T (ISO), e.g. to
                     lay a tariff file over the period of a price history for a backtest
  --provider P       provider id of every tick (and the key that signs them)
  --zone Z           grid zone of the ticks, or zone of the tariff
  --energy-excluded  ticks' prices exclude energy: the zone's tariff is added (aws-spot, gpu-snapshot)
  --energy-kwh K     kWh drawn per unit of the ticks (default 0.2 for aws-spot)
  --key-id K --secret S   sign with this feed key (default: issue a new key per provider)
  --to-jsonl OUT     write the contract messages as JSON Lines instead of publishing them
  --limit N          only the first N messages`;

/** Messages per Kafka request. */
const PUBLISH_BATCH = 1_000;


function fail(message: string, code = 64): never {
  process.stderr.write(`feed: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      format: { type: 'string' },
      speed: { type: 'string' },
      'shift-to-now': { type: 'boolean', default: false },
      'end-at-now': { type: 'boolean', default: false },
      'shift-to': { type: 'string' },
      'energy-excluded': { type: 'boolean', default: false },
      'energy-kwh': { type: 'string' },
      provider: { type: 'string' },
      zone: { type: 'string' },
      'key-id': { type: 'string' },
      secret: { type: 'string' },
      'to-jsonl': { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (values.file === undefined || values.format === undefined) fail(`--file and --format are required\n${USAGE}`);
  if (!(FORMATS as readonly string[]).includes(values.format)) fail(`unknown format ${JSON.stringify(values.format)}: use one of ${FORMATS.join(', ')}`);
  const speed = values.speed === undefined ? undefined : Number(values.speed);
  if (speed !== undefined && !(speed > 0)) fail('--speed must be a positive number');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) fail('--limit must be a positive whole number');
  if ((values['key-id'] === undefined) !== (values.secret === undefined)) fail('--key-id and --secret go together');

  let text: string;
  try {
    text = readFileSync(values.file, 'utf8');
  } catch (error) {
    fail(`cannot read ${values.file}: ${(error as Error).message}`, 66);
  }
  let messages: FeedMessage[];
  try {
    messages = convert(values.format as FeedFormat, text, {
      ...(values.provider === undefined ? {} : { provider: values.provider }),
      ...(values.zone === undefined ? {} : { zone: values.zone }),
      ...(values['energy-excluded'] ? { energyIncluded: false } : {}),
      ...(values['energy-kwh'] === undefined ? {} : { energyKwhPerUnit: values['energy-kwh'] }),
    });
  } catch (error) {
    if (error instanceof FeedFormatError) fail(`${values.file}:${error.message}`, 65);
    throw error;
  }
  if (limit !== undefined) messages = messages.slice(0, limit);
  // Everything is checked against the contracts before anything is published.
  messages.forEach((m, i) => {
    const parsed = m.kind === 'tick' ? spotPriceTickSchema.safeParse(m.tick) : energyTariffSchema.safeParse(m.tariff);
    if (!parsed.success) fail(`${values.file}: message ${i + 1} would be refused: ${describeIssues(parsed.error)}`, 65);
  });
  if (messages.length === 0) fail(`${values.file}: no rows`, 65);
  const shifts = [values['shift-to-now'], values['end-at-now'], values['shift-to'] !== undefined].filter(Boolean).length;
  if (shifts > 1) fail('--shift-to-now, --end-at-now and --shift-to exclude each other');
  const shiftTo = values['shift-to'] === undefined ? undefined : Date.parse(values['shift-to']);
  if (shiftTo !== undefined && Number.isNaN(shiftTo)) fail(`--shift-to: not an instant: ${JSON.stringify(values['shift-to'])}`);
  if (shifts === 1) {
    const instants = messages.map(effectiveAt);
    const anchor = values['end-at-now'] ? Math.max(...instants) : Math.min(...instants);
    // Whole days, so half-hourly tariff slots stay on the half hour.
    const delta = shiftTo === undefined ? Date.now() - anchor : Math.round((shiftTo - anchor) / 86_400_000) * 86_400_000;
    messages = messages.map((m) => shift(m, delta));
  }

  if (values['to-jsonl'] !== undefined) {
    const lines = messages.map((m) => JSON.stringify(m.kind === 'tick' ? { topic: Topic.SpotPrices, message: m.tick } : { topic: Topic.EnergyTariffs, message: m.tariff }));
    writeFileSync(values['to-jsonl'], `${lines.join('\n')}\n`);
    process.stdout.write(`feed: wrote ${messages.length} messages to ${values['to-jsonl']}\n`);
    return;
  }
  await publish(messages, speed, values['key-id'] === undefined ? undefined : { keyId: values['key-id'], secret: values.secret ?? '' });
}

async function publish(messages: readonly FeedMessage[], speed: number | undefined, given: { keyId: string; secret: string } | undefined): Promise<void> {
  const config = loadConfig();
  // The tool reports failures itself, in one line; kafkajs's retry chatter would bury it.
  const logger = createRootLogger('feed', 'silent');
  const keys = new Map<string, Pick<IssuedKey, 'keyId' | 'secret'>>();
  for (const m of messages) {
    if (m.kind !== 'tick' || keys.has(m.tick.providerId)) continue;
    const key = given ?? (await issueFeedKey(config.DATABASE_URL, config.FEED_SECRETS_KEY, m.tick.providerId));
    if (given === undefined) process.stdout.write(`feed: issued feed key ${key.keyId} for provider ${m.tick.providerId}\n`);
    keys.set(m.tick.providerId, key);
  }
  const kafka = createKafka(config, 'feed', logger);
  try {
    await ensureTopics(kafka, config);
  } catch (error) {
    fail(`cannot reach Kafka at ${config.KAFKA_BROKERS.join(',')} (${(error as Error).message}); is the stack up? npm run stack:up`, 69);
  }
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const started = Date.now();
  const origin = effectiveAt(messages[0] as FeedMessage);
  let sent = 0;
  try {
    for (let i = 0; i < messages.length; ) {
      // With --speed, wait until the next message is due on the replay clock.
      if (speed !== undefined) {
        const due = started + (effectiveAt(messages[i] as FeedMessage) - origin) / speed;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 60_000)));
      }
      const batch: FeedMessage[] = [];
      const now = Date.now();
      while (i < messages.length && batch.length < PUBLISH_BATCH) {
        const m = messages[i] as FeedMessage;
        if (speed !== undefined && started + (effectiveAt(m) - origin) / speed > now) break;
        batch.push(m);
        i += 1;
      }
      const ticks = batch.filter((m) => m.kind === 'tick').map((m) => {
        const out = encodeMessage(Topic.SpotPrices, m.tick);
        const key = keys.get(m.tick.providerId) as { keyId: string; secret: string };
        return { key: out.key, value: out.value, headers: { [KEY_ID_HEADER]: key.keyId, [SIGNATURE_HEADER]: signFeed(out.value, key.secret) } };
      });
      const tariffs = batch.filter((m) => m.kind === 'tariff').map((m) => encodeMessage(Topic.EnergyTariffs, m.tariff));
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          ...(ticks.length > 0 ? [{ topic: Topic.SpotPrices, messages: ticks }] : []),
          ...(tariffs.length > 0 ? [{ topic: Topic.EnergyTariffs, messages: tariffs.map((t) => ({ key: t.key, value: t.value })) }] : []),
        ],
      });
      sent += batch.length;
    }
  } finally {
    await producer.disconnect();
  }
  const seconds = (Date.now() - started) / 1_000;
  process.stdout.write(`feed: published ${sent} messages in ${seconds.toFixed(1)} s\n`);
}

try {
  await main();
} catch (error) {
  fail(error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error)), 1);
}
