import { Controller, Query, Sse, type MessageEvent } from '@nestjs/common';
import { filter, finalize, map, merge, type Observable } from 'rxjs';
import { z } from 'zod';
import { identifier } from '#contracts';
import { Access, CurrentPrincipal, Doc, parseRequest, type Principal } from '#runtime';
import { tenantFilter } from '../access/tenancy.js';
import { JobStream } from './job-stream.service.js';
import { keepalive$, StreamSlots } from './stream-slots.js';

const jobStreamQuery = z.object({ customer: identifier.optional() }).strict();

/**
 * Server-sent events of job lifecycle steps as they happen: a customer's own jobs, or (finance,
 * admin) everyone's or one customer's. The current state is `GET /v1/jobs`; this says what changes.
 */
@Controller('v1/stream')
export class JobStreamController {
  private readonly slots = new StreamSlots();

  constructor(private readonly stream: JobStream) {}

  @Sse('jobs')
  @Access.roles('customer', 'finance', 'admin')
  @Doc({
    tag: 'jobs',
    summary: 'Live job lifecycle steps (server-sent events)',
    description: 'A `job` event per step (the `jobs.events.v1` message), and `keepalive` every 15 s. A customer receives its own jobs only.',
    query: jobStreamQuery,
    produces: 'text/event-stream',
    responseExample:
      'event: job\nid: 0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d.1\ndata: {"eventId":"0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d.1","jobId":"0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d","customerId":"acme","type":"matched","status":"matched","reason":null,"quantity":"4","filledQuantity":"4","allocationIds":["7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d"],"until":null,"at":"2026-11-27T09:30:01.000Z"}\n\n',
    errors: { 404: 'A customer named another customer.', 503: 'This instance serves its maximum of streams; retry (elsewhere).' },
  })
  jobs(@Query() raw: unknown, @CurrentPrincipal() who: Principal): Observable<MessageEvent> {
    const q = parseRequest(jobStreamQuery, raw, 'query');
    const customer = tenantFilter(who, q.customer, 'customer');
    const release = this.slots.take();
    const steps = this.stream.changes.pipe(
      filter((e) => customer === undefined || e.customerId === customer),
      map((e) => ({ type: 'job', id: e.eventId, data: e }) as MessageEvent),
    );
    return merge(steps, keepalive$).pipe(finalize(release));
  }
}
