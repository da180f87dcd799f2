import { timingSafeEqual, createHash } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '#platform';
import { ProblemException } from '../problem.filter.js';
import { CONFIG, LOGGER } from '../tokens.js';
import { bearerOf, PRINCIPALS, type AuthenticatedRequest, type Principal, type PrincipalResolver } from './principal.js';
import { POLICY_METADATA, type Policy } from './policy.js';

/** Counts a key's requests; the gateway provides one backed by Redis. */
export interface RateLimiter {
  /** Takes one request from the key's allowance: how many are left, or when to retry. */
  take(keyId: string): Promise<{ allowed: boolean; limit: number; remaining: number; retryAfterSeconds: number }>;
  /** Counts a refused authentication from an address: true when it is over its allowance. */
  refused(address: string): Promise<boolean>;
}
export const RATE_LIMITER = Symbol('spotgrid.rate-limiter');

const digest = (s: string) => createHash('sha256').update(s).digest();

const unauthenticated = () =>
  new ProblemException({ title: 'unauthenticated', status: 401, detail: 'send a live API key as Authorization: Bearer <key>' });

/**
 * The one door of every HTTP route of every service: the route's policy (required: a route
 * without one is refused, whoever calls), then who is calling, then the caller's rate limit.
 * A role that may not call a route is refused before anything is looked up, so a refusal says
 * nothing of whether an object exists; objects of another tenant are the handlers' 404s.
 */
@Injectable()
export class AccessGuard implements CanActivate, OnModuleInit {
  private readonly serviceToken: Buffer;
  private principals: PrincipalResolver | undefined;
  private limiter: RateLimiter | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly modules: ModuleRef,
  ) {
    this.serviceToken = digest(config.SERVICE_TOKEN);
  }

  /** The app's key resolver and rate limiter, wherever the app module provides them (the gateway); none elsewhere. */
  onModuleInit(): void {
    this.principals = this.optional<PrincipalResolver>(PRINCIPALS);
    this.limiter = this.optional<RateLimiter>(RATE_LIMITER);
  }

  private optional<T>(token: symbol): T | undefined {
    try {
      return this.modules.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Kafka handlers are not HTTP routes: the consumer policy (libs/messaging) guards them.
    if (context.getType() !== 'http') return true;
    const policy = this.reflector.getAllAndOverride<Policy | undefined>(POLICY_METADATA, [context.getHandler(), context.getClass()]);
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    if (policy === undefined) {
      this.logger.error({ route: `${context.getClass().name}.${context.getHandler().name}` }, 'a route without an access policy was called; refused');
      throw new ProblemException({ title: 'forbidden', status: 403, detail: 'this route has no access policy' });
    }
    if (policy.kind === 'public') return true;
    const token = bearerOf(req.header('authorization'));
    if (token === undefined) throw await this.refuse(req, context.switchToHttp().getResponse<Response>());
    if (policy.kind === 'service') {
      // Digests have equal lengths, so the comparison takes the same time whatever was sent.
      if (!timingSafeEqual(digest(token), this.serviceToken)) throw await this.refuse(req, context.switchToHttp().getResponse<Response>());
      return true;
    }
    const principal = this.principals === undefined ? undefined : await this.principals.authenticate(token);
    if (principal === undefined) throw await this.refuse(req, context.switchToHttp().getResponse<Response>());
    req.principal = principal;
    await this.limit(principal, context.switchToHttp().getResponse<Response>());
    if (!policy.roles.includes(principal.role)) {
      throw new ProblemException({ title: 'forbidden', status: 403, detail: `a ${principal.role} key cannot call this route` });
    }
    return true;
  }

  /** A 401, or a 429 once an address has been refused too often this second (it is guessing). */
  private async refuse(req: Request, res: Response): Promise<ProblemException> {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (this.limiter !== undefined && (await this.limiter.refused(address))) {
      res.setHeader('Retry-After', '1');
      return new ProblemException({ title: 'too many requests', status: 429, detail: 'too many refused authentications from this address; retry in 1 s' });
    }
    return unauthenticated();
  }

  private async limit(principal: Principal, res: Response): Promise<void> {
    if (this.limiter === undefined) return;
    const r = await this.limiter.take(principal.keyId);
    res.setHeader('RateLimit-Limit', String(r.limit));
    res.setHeader('RateLimit-Remaining', String(r.remaining));
    if (!r.allowed) {
      res.setHeader('Retry-After', String(r.retryAfterSeconds));
      throw new ProblemException({ title: 'too many requests', status: 429, detail: `this key may make ${r.limit} requests a second; retry in ${r.retryAfterSeconds} s` });
    }
  }
}
