import { Body, Controller, Delete, Get, Param, Post, Query, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppSchema } from '#persistence';
import { Access, Audited, CurrentPrincipal, Doc, parseRequest, type Principal } from '#runtime';
import { decodeCursor, encodeCursor } from '../market/cursor.js';
import { priceSplitView } from '../market/market-read.controller.js';
import { AccessService } from './access.service.js';
import { keyIdParam, rotateBody } from './access.request.js';
import type { AuditedRequest } from './audit.interceptor.js';
import { EXAMPLE_FEED_KEY } from './examples.js';

const G = AppSchema.Gateway;
const allocationsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: z.string().max(200).optional() }).strict();

/** A provider's own side of the market: its offers, the work it was allocated, and its feed keys. */
@Controller('v1/provider')
@Access.roles('provider')
export class ProviderController {
  constructor(
    private readonly access: AccessService,
    private readonly dataSource: DataSource,
  ) {}

  @Get('offers')
  @Doc({
    tag: 'providers',
    summary: 'Your offers as the market holds them, with their live quote',
    responseExample: {
      items: [
        {
          offerId: 'h100-use1',
          instrument: 'gpu:h100',
          region: 'us-east-1',
          gridZone: 'PJM',
          lastSeq: 1042,
          price: '2.10',
          currency: 'USD',
          capacity: '64',
          validFrom: '2026-11-27T09:30:00.000Z',
          validUntil: '2026-11-27T10:30:00.000Z',
          quote: { computeNanoUsd: '2100000000', energyNanoUsd: '48000000', effectiveNanoUsd: '2148000000', effectiveUsd: '2.148' },
        },
      ],
    },
  })
  async offers(@CurrentPrincipal() who: Principal) {
    const rows: { offer_id: string; instrument: string; region: string; grid_zone: string; last_seq: string; price: string; currency: string; capacity: string; valid_from: Date; valid_until: Date; compute_nano_usd: string | null; energy_nano_usd: string | null; effective_nano_usd: string | null }[] =
      await this.dataSource.query(
        `SELECT o.offer_id, o.instrument, o.region, o.grid_zone, o.last_seq, o.price::text AS price, o.currency, o.capacity::text AS capacity, o.valid_from, o.valid_until,
                q.compute_nano_usd, q.energy_nano_usd, q.effective_nano_usd
           FROM "${G}".market_offers o
           LEFT JOIN "${G}".market_quotes q ON q.provider_id = o.provider_id AND q.offer_id = o.offer_id AND q.valid_until > now()
          WHERE o.provider_id = $1 ORDER BY o.offer_id LIMIT 5000`,
        [who.id],
      );
    return {
      items: rows.map((r) => ({
        offerId: r.offer_id,
        instrument: r.instrument,
        region: r.region,
        gridZone: r.grid_zone,
        lastSeq: Number(r.last_seq),
        price: r.price,
        currency: r.currency.trim(),
        capacity: r.capacity,
        validFrom: r.valid_from.toISOString(),
        validUntil: r.valid_until.toISOString(),
        quote:
          r.effective_nano_usd === null || r.compute_nano_usd === null || r.energy_nano_usd === null
            ? null
            : priceSplitView({ compute_nano_usd: r.compute_nano_usd, energy_nano_usd: r.energy_nano_usd, effective_nano_usd: r.effective_nano_usd }),
      })),
    };
  }

  @Get('allocations')
  @Doc({
    tag: 'providers',
    summary: 'Work allocated to you, newest first, with how its run went',
    query: allocationsQuery,
    responseExample: {
      items: [
        {
          id: '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d',
          jobId: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d',
          offerId: 'h100-use1',
          instrument: 'gpu:h100',
          region: 'us-east-1',
          quantityMicro: '4000000',
          unitPrice: { computeNanoUsd: '2100000000', energyNanoUsd: '48000000', effectiveNanoUsd: '2148000000', effectiveUsd: '2.148' },
          amountNanoUsd: '8592000000',
          matchedAt: '2026-11-27T09:30:01.000Z',
          run: { status: 'succeeded', reason: null, startedAt: '2026-11-27T09:30:01.200Z', endedAt: '2026-11-27T10:30:01.200Z' },
        },
      ],
      nextCursor: null,
    },
  })
  async allocations(@CurrentPrincipal() who: Principal, @Query() raw: unknown) {
    const q = parseRequest(allocationsQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 2);
    const rows: { allocation_id: string; job_id: string; offer_id: string; instrument: string; region: string; quantity_micro: string; compute_nano_usd: string; energy_nano_usd: string; effective_nano_usd: string; amount_nano_usd: string; matched_at: Date; status: string | null; reason: string | null; started_at: Date | null; ended_at: Date | null }[] =
      await this.dataSource.query(
        `SELECT m.allocation_id, m.job_id, m.offer_id, m.instrument, m.region, m.quantity_micro::text AS quantity_micro, m.compute_nano_usd::text AS compute_nano_usd,
                m.energy_nano_usd::text AS energy_nano_usd, m.effective_nano_usd::text AS effective_nano_usd, m.amount_nano_usd::text AS amount_nano_usd, m.matched_at,
                d.status, d.reason, d.started_at, d.ended_at
           FROM "${G}".matching_allocations m LEFT JOIN "${G}".dispatch_allocations d USING (allocation_id)
          WHERE m.provider_id = $1 AND ($2::timestamptz IS NULL OR (m.matched_at, m.allocation_id) < ($2::timestamptz, $3::text))
          ORDER BY m.matched_at DESC, m.allocation_id DESC LIMIT $4`,
        [who.id, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
      );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({
        id: r.allocation_id,
        jobId: r.job_id,
        offerId: r.offer_id,
        instrument: r.instrument,
        region: r.region,
        quantityMicro: r.quantity_micro,
        // The same price split as an offer's quote above, human decimal included.
        unitPrice: priceSplitView(r),
        amountNanoUsd: r.amount_nano_usd,
        matchedAt: r.matched_at.toISOString(),
        run: r.status === null ? null : { status: r.status, reason: r.reason, startedAt: r.started_at?.toISOString() ?? null, endedAt: r.ended_at?.toISOString() ?? null },
      })),
      nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.matched_at.toISOString(), last.allocation_id]) : null,
    };
  }

  @Get('feed-keys')
  @Doc({ tag: 'providers', summary: 'Your feed keys (never their secrets)', responseExample: { items: [{ keyId: EXAMPLE_FEED_KEY.keyId, createdAt: EXAMPLE_FEED_KEY.createdAt, revokedAt: null }] } })
  async feedKeys(@CurrentPrincipal() who: Principal) {
    return { items: await this.access.feedKeys(who.id) };
  }

  @Post('feed-keys')
  @Audited('feed-key.issue-own')
  @Doc({ tag: 'providers', summary: 'Issue yourself a feed key', description: 'The secret is in this answer once.', responseExample: EXAMPLE_FEED_KEY })
  async issueFeedKey(@CurrentPrincipal() who: Principal, @Req() req: AuditedRequest) {
    const key = await this.access.issueFeedKey(who.id);
    req.auditDetail = { keyId: key.keyId };
    return key;
  }

  @Post('feed-keys/:keyId/rotate')
  @Audited('feed-key.rotate-own')
  @Doc({
    tag: 'providers',
    summary: 'Rotate one of your feed keys',
    description: 'A new key (its secret once); the old one keeps verifying for `graceSeconds` (0: stops now).',
    params: { keyId: keyIdParam },
    body: rotateBody,
    requestExample: { graceSeconds: 300 },
    responseExample: { key: EXAMPLE_FEED_KEY, previous: { keyId: 'fk0a9b8c7d6e5f4a3b2c', revokedAt: '2026-11-27T09:05:00.000Z' } },
    errors: { 404: 'No such live feed key of yours.' },
  })
  async rotateFeedKey(@CurrentPrincipal() who: Principal, @Param('keyId') raw: string, @Body() body: unknown, @Req() req: AuditedRequest) {
    const keyId = parseRequest(keyIdParam, raw, 'path');
    const rotated = await this.access.rotateFeedKey(who.id, keyId, parseRequest(rotateBody, body ?? {}, 'body').graceSeconds);
    req.auditDetail = { keyId: rotated.key.keyId, previous: keyId };
    return rotated;
  }

  @Delete('feed-keys/:keyId')
  @Audited('feed-key.revoke-own')
  @Doc({ tag: 'providers', summary: 'Revoke one of your feed keys now', params: { keyId: keyIdParam }, responseExample: { keyId: EXAMPLE_FEED_KEY.keyId, revokedAt: '2026-11-27T10:00:00.000Z' }, errors: { 404: 'No such feed key of yours.' } })
  async revokeFeedKey(@CurrentPrincipal() who: Principal, @Param('keyId') raw: string) {
    return this.access.revokeFeedKey(who.id, parseRequest(keyIdParam, raw, 'path'));
  }
}
