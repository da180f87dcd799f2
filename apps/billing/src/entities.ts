/** The tables billing owns beyond its inbox and outbox; they come with the issues that need them. */
export const billingEntities = [];
