import { Controller, HttpCode, Inject, Post, Req, type RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import type { Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import {
  authenticateFeed,
  contractOf,
  describeIssues,
  FeedSecrets,
  KEY_ID_HEADER,
  SIGNATURE_HEADER,
  Topic,
  type FeedKey,
} from '#contracts';
import { Limits } from '#messaging';
import { AppSchema } from '#persistence';
import { Access, CONFIG, CurrentPrincipal, Doc, PRODUCER, ProblemException, type Config, type Principal } from '#runtime';

/**
 * Providers without Kafka: the same signed tick over HTTP. The gateway checks what market-data
 * would (schema, size, signature, the key's provider), so a bad tick gets its 4xx here, and then
 * publishes the exact bytes and signature headers; market-data verifies again, as for any tick.
 * Two credentials, two questions: the API key says which provider is calling (and counts against
 * its rate limit), the feed signature says the tick's bytes are the provider's.
 */
@Controller('v1/ticks')
export class TickIngestController {
  private readonly secrets: FeedSecrets;

  constructor(
    @Inject(PRODUCER) private readonly producer: Producer,
    private readonly dataSource: DataSource,
    @Inject(CONFIG) config: Config,
  ) {
    this.secrets = new FeedSecrets(config.FEED_SECRETS_KEY);
  }

  @Post()
  @HttpCode(202)
  @Access.roles('provider')
  @Doc({
    tag: 'providers',
    summary: 'Publish a signed price tick',
    description: 'The body is the tick exactly as signed: `x-signature` is the HMAC-SHA256 (hex) of these bytes with the secret of the feed key `x-key-id`.',
    status: 202,
    body: contractOf(Topic.SpotPrices).schema,
    headers: {
      'x-key-id': { description: 'The feed key that signed the body.', required: true, example: 'fk4b1e9c2a7d3f5e6a08' },
      'x-signature': { description: 'HMAC-SHA256 of the body bytes, lower-case hex.', required: true, example: '9f2c…' },
    },
    requestExample: {
      providerId: 'gpu-east',
      offerId: 'h100-use1',
      seq: 1042,
      instrument: 'gpu:h100',
      region: 'us-east-1',
      gridZone: 'PJM',
      price: '2.10',
      currency: 'USD',
      energyKwhPerUnit: '0.7',
      energyIncluded: false,
      capacity: '64',
      validFrom: '2026-11-27T09:30:00Z',
      validUntil: '2026-11-27T10:30:00Z',
      attributes: { tier: 'spot', interruptible: true, dataPolicy: 'no-retention', hardware: 'H100 SXM 80GB' },
      publishedAt: '2026-11-27T09:29:58Z',
    },
    responseExample: { topic: Topic.SpotPrices, partition: 3, offset: '181204' },
    errors: { 401: 'No live API key, or the tick is not signed by a live feed key of its provider.', 403: 'The tick names another provider.', 413: 'The body is over the message size limit.' },
  })
  async publish(@Req() req: RawBodyRequest<Request>, @CurrentPrincipal() who: Principal): Promise<{ topic: string; partition: number; offset: string }> {
    const raw = req.rawBody;
    if (raw === undefined || raw.length === 0) throw new ProblemException({ title: 'malformed body', status: 400, detail: 'send the tick as an application/json body' });
    if (raw.length > Limits.maxMessageBytes) throw new ProblemException({ title: 'body too large', status: 413, detail: `${raw.length} bytes, limit ${Limits.maxMessageBytes}` });
    const contract = contractOf(Topic.SpotPrices);
    const parsed = contract.parser.safeParse(req.body);
    if (!parsed.success) throw new ProblemException({ title: 'invalid tick', status: 400, detail: describeIssues(parsed.error) });
    const tick = parsed.data;
    if (tick.providerId !== who.id) throw new ProblemException({ title: 'forbidden', status: 403, detail: `a provider publishes its own ticks: this key is ${who.id}'s` });

    const headers = { [KEY_ID_HEADER]: req.header(KEY_ID_HEADER), [SIGNATURE_HEADER]: req.header(SIGNATURE_HEADER) };
    const keyId = headers[KEY_ID_HEADER];
    const keys: { key_id: string; provider_id: string; revoked: boolean }[] =
      keyId === undefined
        ? []
        : await this.dataSource.query(`SELECT key_id, provider_id, revoked_at <= now() IS TRUE AS revoked FROM "${AppSchema.Gateway}".feed_keys WHERE key_id = $1`, [keyId]);
    const lookup = (id: string): FeedKey | undefined => {
      const k = keys.find((r) => r.key_id === id);
      return k === undefined ? undefined : { keyId: k.key_id, providerId: k.provider_id, secret: this.secrets.of(k.key_id), revoked: k.revoked };
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
