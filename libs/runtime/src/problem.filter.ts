import { Catch, HttpException, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isTransientError } from '#persistence';
import { createRootLogger } from '#platform';

/** An RFC 9457 problem: every HTTP error of every service has this one shape. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
  /** RFC 9457 extension members, sent at the top level of the body. */
  readonly extensions?: Readonly<Record<string, string>>;
}

const logger = createRootLogger('http', process.env['LOG_LEVEL'] ?? 'info');

/** Thrown by handlers for a precise 4xx: the filter turns it into problem+json as is. */
export class ProblemException extends HttpException {
  constructor(readonly problem: Omit<Problem, 'type'> & { type?: string }) {
    super(problem, problem.status);
  }
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/**
 * Every HTTP error becomes `application/problem+json`. Errors raised by body parsing (malformed
 * JSON, a body over the limit) carry their own 4xx status; anything unexpected is a 500 whose
 * details stay in the log, never in the response.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const problem = this.toProblem(exception);
    if (problem.status === 503) {
      logger.warn({ err: exception, method: req.method, url: req.originalUrl }, 'a dependency is unavailable; answered 503');
      res.setHeader('Retry-After', '1');
    } else if (problem.status >= 500) logger.error({ err: exception, method: req.method, url: req.originalUrl }, 'unhandled error');
    if (res.headersSent) return;
    const { extensions, ...body } = problem;
    res.status(problem.status).type('application/problem+json').json({ ...body, ...extensions, instance: req.originalUrl });
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof ProblemException) {
      const p = exception.problem;
      return { ...p, type: p.type ?? `https://spotgrid.dev/problems/${slug(p.title)}` };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const detail = typeof body === 'string' ? body : typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : exception.message;
      const title = HttpStatus[status]?.toLowerCase().replace(/_/g, ' ') ?? 'error';
      return { type: `https://spotgrid.dev/problems/${slug(title)}`, title, status, detail };
    }
    // body-parser's errors: { status, type: 'entity.parse.failed' | 'entity.too.large' | ... }.
    const e = exception as { status?: unknown; type?: unknown; message?: unknown; expose?: unknown };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      const title = e.type === 'entity.too.large' ? 'body too large' : e.type === 'entity.parse.failed' ? 'malformed body' : 'bad request';
      return { type: `https://spotgrid.dev/problems/${slug(title)}`, title, status: e.status, detail: typeof e.message === 'string' && e.expose === true ? e.message : title };
    }
    // The database or Redis is down or saturated: nothing was written, and a retry may succeed.
    if (isTransientError(exception)) {
      return { type: 'https://spotgrid.dev/problems/unavailable', title: 'unavailable', status: 503, detail: 'a dependency is unavailable; nothing was changed; retry shortly' };
    }
    return { type: 'https://spotgrid.dev/problems/internal-error', title: 'internal error', status: 500, detail: 'the error was logged' };
  }
}
