import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Nest's default RPC filter turns every handler error into `{ status: 'error', message: 'Internal
 * server error' }`, which would hide whether a failure is transient (retry) or permanent (DLQ).
 * The transport decides that, so handler errors reach it as they were thrown.
 */
@Catch()
export class RethrowRpcErrorsFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
