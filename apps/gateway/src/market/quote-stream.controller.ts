import { Controller, Query, Sse, type MessageEvent } from '@nestjs/common';
import { concat, defer, filter, finalize, from, map, merge, type Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { identifier, instrument, type Quote } from '#contracts';
import { formatAtomic, USD_SCALE } from '#pricing';
import { AppSchema } from '#persistence';
import { Access, Doc, parseRequest } from '#runtime';
import { keepalive$, StreamSlots } from '../live/stream-slots.js';
import { quoteView } from './market-read.controller.js';
import { QuoteStream } from './quote-stream.service.js';


const streamQuery = z.object({ instrument, region: identifier.optional() }).strict();

/**
 * Server-sent events of quote changes for one instrument (and optionally one region): first the
 * live quotes as `snapshot` events, then every change as a `quote` event, with a comment every
 * 15 s so proxies keep the connection open.
 */
@Controller('v1/stream')
export class QuoteStreamController {
  private readonly slots = new StreamSlots();

  constructor(
    private readonly stream: QuoteStream,
    private readonly dataSource: DataSource,
  ) {}

  @Sse('quotes')
  @Access.roles('customer', 'provider', 'finance', 'admin')
  @Doc({
    tag: 'market',
    summary: 'Live quote changes of an instrument (server-sent events)',
    description: 'First `snapshot` (the live quotes), then a `quote` event per change, and `keepalive` every 15 s.',
    query: streamQuery,
    produces: 'text/event-stream',
    responseExample:
      'event: snapshot\ndata: [{"providerId":"gpu-east","offerId":"h100-use1","instrument":"gpu:h100","region":"us-east-1","effectiveNanoUsd":"2148000000","effectiveUsd":"2.148"}]\n\n' +
      'event: quote\nid: gpu-east/h100-use1/2026-11-27T09:30:00.000Z\ndata: {"providerId":"gpu-east","offerId":"h100-use1","effectiveNanoUsd":"2150000000","effectiveUsd":"2.15"}\n\n',
    errors: { 503: 'This instance serves its maximum of streams; retry (elsewhere).' },
  })
  quotes(@Query() raw: unknown): Observable<MessageEvent> {
    const q = parseRequest(streamQuery, raw, 'query');
    const release = this.slots.take();
    const snapshot = defer(() =>
      from(
        this.dataSource.query(
          `SELECT * FROM "${AppSchema.Gateway}".market_quotes WHERE instrument = $1 AND valid_until > now() AND ($2::text IS NULL OR region = $2)
            ORDER BY effective_nano_usd, provider_id, offer_id LIMIT 500`,
          [q.instrument, q.region ?? null],
        ),
      ),
    ).pipe(map((rows: Parameters<typeof quoteView>[0][]) => ({ type: 'snapshot', data: rows.map(quoteView) }) as MessageEvent));
    const live = this.stream.changes.pipe(
      filter((quote: Quote) => quote.instrument === q.instrument && (q.region === undefined || quote.region === q.region)),
      map((quote) => ({ type: 'quote', id: `${quote.providerId}/${quote.offerId}/${quote.asOf}`, data: { ...quote, effectiveUsd: formatAtomic(BigInt(quote.effectiveNanoUsd), USD_SCALE) } }) as MessageEvent),
    );
    return concat(snapshot, merge(live, keepalive$)).pipe(finalize(release));
  }
}
