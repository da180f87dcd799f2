import { type z } from 'zod';
import { type SafeParser, withFastPath } from './accept.js';
import { allocationSchema, jobEventSchema, usageMeteredSchema } from './jobs.js';
import { energyTariffSchema, fxRateSchema, quoteSchema, spotPriceTickSchema } from './market.js';
import { Topic, type TopicName } from './topics.js';

/**
 * What travels on each topic: its schema, its Kafka key, and the identity of one message (the
 * dedupe key consumers record, so a message delivered or produced twice has one effect).
 * Producers and consumers both go through this table; a topic without an entry cannot be used.
 */
export interface TopicContract<S extends z.ZodType> {
  readonly topic: TopicName;
  readonly schema: S;
  readonly key: (message: z.infer<S>) => string;
  readonly messageId: (message: z.infer<S>) => string;
  /**
   * How a consumer makes a redelivery a no-op. `inbox`: a dedupe row per message id, written with
   * the effect. `sequence`: the message carries a sequence number per key (or a natural key) and
   * the handler applies only what is newer, which needs no dedupe row at all.
   */
  readonly idempotence: 'inbox' | 'sequence';
  /** `schema.safeParse` with its compiled fast path (see accept.ts): what consumers and producers call. */
  readonly parser: SafeParser<z.infer<S>>;
}

function contract<S extends z.ZodType>(c: Omit<TopicContract<S>, 'parser'>): TopicContract<S> {
  return { ...c, parser: withFastPath(c.schema as z.ZodType<z.infer<S>>) };
}

export const contracts = {
  [Topic.SpotPrices]: contract({
    topic: Topic.SpotPrices,
    schema: spotPriceTickSchema,
    key: (m) => `${m.providerId}:${m.offerId}`,
    messageId: (m) => `${m.providerId}:${m.offerId}:${m.seq}`,
    idempotence: 'sequence',
  }),
  [Topic.EnergyTariffs]: contract({
    topic: Topic.EnergyTariffs,
    schema: energyTariffSchema,
    key: (m) => m.zone,
    messageId: (m) => `${m.zone}:${m.kind}:${m.seq}`,
    idempotence: 'sequence',
  }),
  [Topic.FxRates]: contract({
    topic: Topic.FxRates,
    schema: fxRateSchema,
    key: (m) => `${m.base}:${m.quote}`,
    messageId: (m) => `${m.base}:${m.quote}:${m.asOf}`,
    idempotence: 'sequence',
  }),
  [Topic.Quotes]: contract({
    topic: Topic.Quotes,
    schema: quoteSchema,
    key: (m) => m.instrument,
    // The instant priced, not only the sources: a tariff slot boundary re-prices from the same
    // publication, and that new price is a new message.
    messageId: (m) => `${m.providerId}:${m.offerId}:${m.sources.tickSeq}:${m.asOf}`,
    idempotence: 'inbox',
  }),
  [Topic.Allocations]: contract({
    topic: Topic.Allocations,
    schema: allocationSchema,
    key: (m) => m.jobId,
    messageId: (m) => m.allocationId,
    idempotence: 'inbox',
  }),
  [Topic.JobEvents]: contract({
    topic: Topic.JobEvents,
    schema: jobEventSchema,
    key: (m) => m.jobId,
    messageId: (m) => m.eventId,
    idempotence: 'inbox',
  }),
  [Topic.UsageMetered]: contract({
    topic: Topic.UsageMetered,
    schema: usageMeteredSchema,
    key: (m) => m.customerId,
    messageId: (m) => m.usageId,
    // The usage sub-ledger's key (the usage id, with the hash of its posting) is the dedupe: it
    // also tells a replay from the same id with another body, which an inbox row would silently
    // swallow.
    idempotence: 'sequence',
  }),
} as const;

/** Topics that have a message contract today; the others are declared and come with their issues. */
export type ContractTopic = keyof typeof contracts;

/** The payload type of a topic, derived from its name: a producer and a handler cannot drift. */
export type MessageOf<T extends ContractTopic> = z.infer<(typeof contracts)[T]['schema']>;

export function contractOf<T extends ContractTopic>(topic: T): (typeof contracts)[T] {
  return contracts[topic];
}

export function hasContract(topic: string): topic is ContractTopic {
  return Object.hasOwn(contracts, topic);
}

/** A readable one-line summary of what failed validation, for DLQ headers and HTTP 400s. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ');
}
