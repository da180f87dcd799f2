import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

/** Who a principal is in the market: DESIGN.md section 10. */
export const ROLES = ['customer', 'provider', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who may call a route. Every HTTP route states one: the guard refuses a route without a policy
 * (fail closed), and the role × route matrix test fails the suite on it.
 * - `public`: anyone, unauthenticated (health, readiness, metrics, the API description);
 * - `service`: another Spotgrid service, with the shared service token (internal APIs);
 * - `roles`: a principal with an API key of one of these roles; the handler scopes what it reads
 *   and writes to the principal's tenant where the role is a tenant (customer, provider).
 */
export type Policy = { readonly kind: 'public' } | { readonly kind: 'service' } | { readonly kind: 'roles'; readonly roles: readonly Role[] };

export const POLICY_METADATA = 'spotgrid:access-policy';
export const DOC_METADATA = 'spotgrid:api-doc';

export const Access = {
  public: () => SetMetadata(POLICY_METADATA, { kind: 'public' } satisfies Policy),
  service: () => SetMetadata(POLICY_METADATA, { kind: 'service' } satisfies Policy),
  roles: (...roles: [Role, ...Role[]]) => SetMetadata(POLICY_METADATA, { kind: 'roles', roles } satisfies Policy),
};

/** Privileged actions land in the audit log (gateway) under this name when they succeed. */
export const AUDIT_METADATA = 'spotgrid:audit-action';
export const Audited = (action: string) => SetMetadata(AUDIT_METADATA, action);

/**
 * What the API description says of one operation. The schemas are the ones the handler parses
 * with, so the description cannot drift from what the route accepts; the examples are checked
 * against those schemas by the OpenAPI unit test.
 */
export interface ApiDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly params?: Readonly<Record<string, z.ZodType>>;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly required?: boolean; readonly example: string }>>;
  /** Example request body; required when `body` is. */
  readonly requestExample?: unknown;
  /** The success status and an example of what it answers. */
  readonly status?: number;
  readonly responseExample?: unknown;
  /** Not JSON: the media type answered (CSV, an event stream, HTML). */
  readonly produces?: string;
  /** 4xx statuses this operation answers besides 401/403/429, each with why. */
  readonly errors?: Readonly<Record<number, string>>;
}

export const Doc = (doc: ApiDoc) => applyDecorators(SetMetadata(DOC_METADATA, doc));
