import { MatchingAllocationEntity, MatchingOfferEntity, MatchingOrderEntity } from './book/book.entities.js';

/** The tables matching-engine owns beyond its inbox and outbox. */
export const matchingEngineEntities = [MatchingOfferEntity, MatchingOrderEntity, MatchingAllocationEntity];
