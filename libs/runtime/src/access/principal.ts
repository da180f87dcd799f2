import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from './policy.js';

/** Who made a request: the principal behind the API key, and the key itself. */
export interface Principal {
  /** The principal's id, which is also its tenant: a customer's account, a provider's id. */
  readonly id: string;
  readonly role: Role;
  readonly keyId: string;
}

/** Finds the principal of an API key; the gateway provides it (services without one refuse role routes). */
export interface PrincipalResolver {
  authenticate(token: string): Promise<Principal | undefined>;
}
export const PRINCIPALS = Symbol('spotgrid.principals');

export interface AuthenticatedRequest {
  principal?: Principal;
}

/** The authenticated principal of a role route; the guard has already refused anyone else. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal === undefined) throw new Error('CurrentPrincipal on a route whose policy authenticates no principal');
  return principal;
});

/** The bearer token of `Authorization: Bearer <token>`, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(header.trim());
  return match?.[1];
}
