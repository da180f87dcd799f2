import { billingEntities } from '../apps/billing/src/entities.js';
import { dispatcherEntities } from '../apps/dispatcher/src/entities.js';
import { gatewayEntities } from '../apps/gateway/src/entities.js';
import { marketDataEntities } from '../apps/market-data/src/entities.js';
import { matchingEngineEntities } from '../apps/matching-engine/src/entities.js';
import { messagingEntities } from '#messaging';
import { ALL_SCHEMAS } from '#persistence';

/**
 * Every mapped table of every app, for the migration CLI and the drift check. This folder is the
 * one place that sees all schemas at once; the apps never see each other's.
 */
export const allEntities = [
  ...ALL_SCHEMAS.flatMap((schema) => messagingEntities(schema)),
  ...marketDataEntities,
  ...gatewayEntities,
  ...matchingEngineEntities,
  ...dispatcherEntities,
  ...billingEntities,
];
