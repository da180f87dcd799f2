import { ApiKeyEntity, AuditEntryEntity, PrincipalEntity } from './access/access.entities.js';
import { FeedKeyEntity } from './access/feed-key.entity.js';
import { JobEntity, JobEventEntity } from './jobs/job.entities.js';

/** The tables gateway owns beyond its inbox and outbox (market and matching are read through views). */
export const gatewayEntities = [JobEntity, JobEventEntity, PrincipalEntity, ApiKeyEntity, AuditEntryEntity, FeedKeyEntity];
