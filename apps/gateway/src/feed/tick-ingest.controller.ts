import { Controller, HttpCode, Inject, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import type { Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import {
  authenticateFeed,
  contractOf,
  describeIssues,
  KEY_ID_HEADER,
  SIGNATURE_HEADER,
  Topic,
  type FeedKey,
} from '#contracts';
import { Limits } from '#messaging';
import { AppSchema } from '#persistence';
import { PRODUCER, ProblemException } from '#runtime';

/**
 * Providers without Kafka: the same signed tick over HTTP. The gateway checks what market-data
 * would (schema, size, signature, the key's provider), so a bad tick gets its 4xx here, and then
 * publishes the exact bytes and signature headers; market-data verifies again, as for any tick.
 */
@Controller('v1/ticks')
export class TickIngestController {
  constructor(
    @Inject(PRODUCER) private readonly producer: Producer,
    private readonly dataSource: DataSource,
  ) {}

  @Post()
  @HttpCode(202)
  async publish(@Req() req: RawBodyRequest<Request>): Promise<{ topic: string; partition: number; offset: string }> {
    const raw = req.rawBody;
    if (raw === undefined || raw.length === 0) throw new ProblemException({ title: 'malformed body', status: 400, detail: 'send the tick as an application/json body' });
    if (raw.length > Limits.maxMessageBytes) throw new ProblemException({ title: 'body too large', status: 413, detail: `${raw.length} bytes, limit ${Limits.maxMessageBytes}` });
    const contract = contractOf(Topic.SpotPrices);
    const parsed = contract.schema.safeParse(req.body);
    if (!parsed.success) throw new ProblemException({ title: 'invalid tick', status: 400, detail: describeIssues(parsed.error) });
    const tick = parsed.data;

    const headers = { [KEY_ID_HEADER]: req.header(KEY_ID_HEADER), [SIGNATURE_HEADER]: req.header(SIGNATURE_HEADER) };
    const keyId = headers[KEY_ID_HEADER];
    const keys: { key_id: string; provider_id: string; secret: string; revoked: boolean }[] =
      keyId === undefined ? [] : await this.dataSource.query(`SELECT key_id, provider_id, secret, revoked FROM "${AppSchema.Gateway}".market_feed_keys WHERE key_id = $1`, [keyId]);
    const lookup = (id: string): FeedKey | undefined => {
      const k = keys.find((r) => r.key_id === id);
      return k === undefined ? undefined : { keyId: k.key_id, providerId: k.provider_id, secret: k.secret, revoked: k.revoked };
    };
    const failure = authenticateFeed(raw, headers, tick.providerId, lookup);
    if (failure !== undefined) {
      // One answer for every failure: a caller learns nothing about which keys exist.
      throw new ProblemException({ title: 'unauthenticated', status: 401, detail: `the tick is not signed by a live key of ${tick.providerId} (${failure === 'unsigned' ? 'no x-key-id or x-signature' : 'signature not accepted'})` });
    }
    const [meta] = await this.producer.send({
      topic: Topic.SpotPrices,
      acks: -1,
      messages: [{ key: contract.key(tick), value: raw, headers: { [KEY_ID_HEADER]: keyId as string, [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER] as string } }],
    });
    return { topic: Topic.SpotPrices, partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '' };
  }
}
