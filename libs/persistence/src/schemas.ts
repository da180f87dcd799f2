/**
 * One PostgreSQL schema per app: an app writes only its own. The gateway may read the others
 * through read-only views, never their tables.
 */
export const AppSchema = {
  Market: 'market',
  Matching: 'matching',
  Dispatch: 'dispatch',
  Billing: 'billing',
  Gateway: 'gateway',
} as const;

export type AppSchemaName = (typeof AppSchema)[keyof typeof AppSchema];

export const ALL_SCHEMAS: readonly AppSchemaName[] = Object.values(AppSchema);
