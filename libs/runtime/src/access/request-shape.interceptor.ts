import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { ProblemException } from '../problem.filter.js';
import { DOC_METADATA, type ApiDoc } from './policy.js';

/**
 * An operation takes exactly what its description says: a query string where it declares no query
 * parameters, or a body where it declares none, is a 400, not silently ignored (a misspelt
 * parameter would otherwise change what a caller gets without telling them). Operations that
 * declare a query or a body validate it strictly themselves.
 */
@Injectable()
export class RequestShapeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const doc = this.reflector.get<ApiDoc | undefined>(DOC_METADATA, context.getHandler());
    if (doc === undefined) return next.handle();
    const req = context.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    if (doc.query === undefined && Object.keys(req.query as object).length > 0) {
      throw new ProblemException({ title: 'invalid query', status: 400, detail: `this operation takes no query parameters (got ${Object.keys(req.query as object).slice(0, 5).join(', ')})` });
    }
    if (doc.body === undefined && req.rawBody !== undefined && req.rawBody.length > 0) {
      throw new ProblemException({ title: 'invalid body', status: 400, detail: 'this operation takes no request body' });
    }
    return next.handle();
  }
}
