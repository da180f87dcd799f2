import { HttpStatus, Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { from, mergeMap, type Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { AppSchema } from '#persistence';
import { AUDIT_METADATA, LOGGER, type AuthenticatedRequest } from '#runtime';

/** What a handler adds to its audit entry (the object it made, the amount it moved); never a secret. */
export interface AuditedRequest extends AuthenticatedRequest {
  auditDetail?: Record<string, unknown>;
}

/**
 * The audit log of privileged actions: each route marked `@Audited(action)` that succeeds
 * writes who (principal, role, key), what (action, method, path, route parameters and the
 * handler's detail), when and from where (address, user agent), before its answer leaves.
 * Refused and failed attempts change nothing and are not privileged actions: the request log has them.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = context.getType() === 'http' ? this.reflector.get<string | undefined>(AUDIT_METADATA, context.getHandler()) : undefined;
    if (action === undefined) return next.handle();
    const req = context.switchToHttp().getRequest<Request & AuditedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    // Nest applies @HttpCode (and POST's 201) when it writes the answer, after this runs: say what it will write.
    const declared = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (req.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
    return next.handle().pipe(mergeMap((body: unknown) => from(this.record(action, req, res.statusCode !== HttpStatus.OK ? res.statusCode : declared).then(() => body))));
  }

  private async record(action: string, req: Request & AuditedRequest, status: number): Promise<void> {
    const p = req.principal;
    if (p === undefined) return;
    const detail = { params: req.params, ...req.auditDetail };
    await this.dataSource.query(
      `INSERT INTO "${AppSchema.Gateway}".audit_log (principal_id, role, key_id, action, method, path, status, ip, user_agent, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [p.id, p.role, p.keyId, action, req.method, req.path, status, req.ip ?? req.socket.remoteAddress ?? 'unknown', req.header('user-agent')?.slice(0, 500) ?? null, JSON.stringify(detail)],
    );
    this.logger.info({ audit: action, principal: p.id, role: p.role, path: req.path }, 'audited');
  }
}
