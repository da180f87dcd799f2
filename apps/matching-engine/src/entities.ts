/** The tables matching-engine owns beyond its inbox and outbox; they come with the issues that need them. */
export const matchingEngineEntities = [];
