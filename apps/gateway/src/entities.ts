/** The tables gateway owns beyond its inbox and outbox; they come with the issues that need them. */
export const gatewayEntities = [];
