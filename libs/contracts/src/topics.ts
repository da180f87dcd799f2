/**
 * Every Kafka topic Spotgrid produces or consumes. No topic string literal appears anywhere else:
 * producers, consumers, topic creation and the DLQ all take their names from here.
 */
export const Topic = {
  SpotPrices: 'market.spot-prices.v1',
  EnergyTariffs: 'market.energy-tariffs.v1',
  FxRates: 'market.fx-rates.v1',
  Quotes: 'market.quotes.v1',
  Allocations: 'market.allocations.v1',
  JobEvents: 'jobs.events.v1',
  UsageMetered: 'usage.metered.v1',
} as const;

export type TopicName = (typeof Topic)[keyof typeof Topic];

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topic);

/** The dead-letter topic of a source topic: same key, the original bytes, reason headers. */
export type DlqTopicName = `${TopicName}.dlq`;

export function dlqTopicOf(topic: TopicName): DlqTopicName {
  return `${topic}.dlq`;
}

export function isTopicName(value: string): value is TopicName {
  return (ALL_TOPICS as readonly string[]).includes(value);
}
