import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppSchema } from '#persistence';
import { Access, Audited, CurrentPrincipal, Doc, parseRequest, type Principal } from '#runtime';
import { BillingClient } from '../billing/billing.client.js';
import { decodeCursor, encodeCursor } from '../market/cursor.js';
import { AccessService, principalView } from './access.service.js';
import { auditQuery, invoiceIdParam, createPrincipalBody, creditLimitBody, issueKeyBody, keyIdParam, principalIdParam, principalListQuery, rotateBody } from './access.request.js';
import type { AuditedRequest } from './audit.interceptor.js';
import { EXAMPLE_FEED_KEY, EXAMPLE_FUNDS, EXAMPLE_KEY, EXAMPLE_PRINCIPAL } from './examples.js';

const G = AppSchema.Gateway;
const id = { id: principalIdParam };
const idKey = { id: principalIdParam, keyId: keyIdParam };
const { token: _token, ...EXAMPLE_KEY_LISTED } = EXAMPLE_KEY;

/** Admins manage principals, their keys, providers' feed keys and credit limits, and read the audit log. */
@Controller('v1/admin')
@Access.roles('admin')
export class AdminController {
  constructor(
    private readonly access: AccessService,
    private readonly billing: BillingClient,
    private readonly dataSource: DataSource,
  ) {}

  @Post('principals')
  @Audited('principal.create')
  @Doc({
    tag: 'admin',
    summary: 'Create a principal and its first API key',
    description: 'The key is in the answer once and never again: only its digest is stored.',
    body: createPrincipalBody,
    requestExample: { id: 'acme', role: 'customer', name: 'Acme Inference Ltd' },
    responseExample: { principal: EXAMPLE_PRINCIPAL, key: EXAMPLE_KEY },
    errors: { 409: 'A principal with this id exists.' },
  })
  async create(@Body() body: unknown, @Req() req: AuditedRequest) {
    const input = parseRequest(createPrincipalBody, body, 'body');
    const created = await this.access.createPrincipal(input);
    req.auditDetail = { principal: input.id, role: input.role, keyId: created.key.keyId };
    return created;
  }

  @Get('principals')
  @Doc({ tag: 'admin', summary: 'List principals', query: principalListQuery, responseExample: { items: [EXAMPLE_PRINCIPAL], nextCursor: null } })
  async list(@Query() raw: unknown) {
    const q = parseRequest(principalListQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 1)?.[0];
    const rows = await this.access.listPrincipals({ role: q.role, after: typeof after === 'string' ? after : undefined, limit: q.limit });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return { items: page.map((p) => principalView(p)), nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.principal_id]) : null };
  }

  @Get('principals/:id')
  @Doc({ tag: 'admin', summary: 'A principal and its keys (never the keys themselves)', params: id, responseExample: { ...EXAMPLE_PRINCIPAL, keys: [EXAMPLE_KEY_LISTED] }, errors: { 404: 'No such principal.' } })
  async get(@Param('id') raw: string) {
    return this.access.principal(parseRequest(principalIdParam, raw, 'path'));
  }

  @Delete('principals/:id')
  @Audited('principal.disable')
  @Doc({
    tag: 'admin',
    summary: 'Disable a principal',
    description: 'Every key of the principal stops working within a second; its records stay.',
    params: id,
    responseExample: { ...EXAMPLE_PRINCIPAL, disabledAt: '2026-11-27T10:00:00.000Z' },
    errors: { 404: 'No such principal.', 409: 'An admin cannot disable itself.' },
  })
  async disable(@Param('id') raw: string, @CurrentPrincipal() self: Principal) {
    return this.access.disablePrincipal(parseRequest(principalIdParam, raw, 'path'), self);
  }

  @Post('principals/:id/keys')
  @Audited('key.issue')
  @Doc({ tag: 'admin', summary: 'Issue another API key to a principal', params: id, body: issueKeyBody, requestExample: { label: 'batch runner' }, responseExample: EXAMPLE_KEY, errors: { 404: 'No such principal.', 409: 'The principal is disabled.' } })
  async issueKey(@Param('id') raw: string, @Body() body: unknown, @Req() req: AuditedRequest) {
    const principalId = parseRequest(principalIdParam, raw, 'path');
    const key = await this.access.issueKey(principalId, parseRequest(issueKeyBody, body, 'body').label);
    req.auditDetail = { keyId: key.keyId };
    return key;
  }

  @Post('principals/:id/keys/:keyId/rotate')
  @Audited('key.rotate')
  @Doc({
    tag: 'admin',
    summary: "Rotate a principal's key",
    description: 'Issues a new key; the old one keeps working for `graceSeconds` (0: stops now).',
    params: idKey,
    body: rotateBody,
    requestExample: { graceSeconds: 3600 },
    responseExample: { key: EXAMPLE_KEY, previous: { ...EXAMPLE_KEY_LISTED, keyId: '9c0e4d1a2b3f5a67', revokedAt: '2026-11-27T10:00:00.000Z' } },
    errors: { 404: 'No such principal, or no such live key of it.', 409: 'The principal is disabled.' },
  })
  async rotateKey(@Param('id') rawId: string, @Param('keyId') rawKey: string, @Body() body: unknown, @Req() req: AuditedRequest) {
    const principalId = parseRequest(principalIdParam, rawId, 'path');
    const keyId = parseRequest(keyIdParam, rawKey, 'path');
    const rotated = await this.access.rotateKey(principalId, keyId, parseRequest(rotateBody, body ?? {}, 'body').graceSeconds);
    req.auditDetail = { keyId: rotated.key.keyId, previous: keyId };
    return rotated;
  }

  @Delete('principals/:id/keys/:keyId')
  @Audited('key.revoke')
  @Doc({ tag: 'admin', summary: 'Revoke a key now', params: idKey, responseExample: { ...EXAMPLE_KEY_LISTED, revokedAt: '2026-11-27T10:00:00.000Z' }, errors: { 404: 'No such key of this principal.' } })
  async revokeKey(@Param('id') rawId: string, @Param('keyId') rawKey: string) {
    return this.access.revokeKey(parseRequest(principalIdParam, rawId, 'path'), parseRequest(keyIdParam, rawKey, 'path'));
  }

  @Post('providers/:id/feed-keys')
  @Audited('feed-key.issue')
  @Doc({
    tag: 'admin',
    summary: 'Issue a feed key to a provider',
    description: 'The secret signs the provider\'s ticks (`x-signature`, HMAC-SHA256); it is in this answer once.',
    params: id,
    responseExample: EXAMPLE_FEED_KEY,
    errors: { 404: 'No such provider.', 409: 'The provider is disabled.' },
  })
  async issueFeedKey(@Param('id') raw: string, @Req() req: AuditedRequest) {
    const key = await this.access.issueFeedKey(parseRequest(principalIdParam, raw, 'path'));
    req.auditDetail = { keyId: key.keyId };
    return key;
  }

  @Get('providers/:id/feed-keys')
  @Doc({ tag: 'admin', summary: "A provider's feed keys (never their secrets)", params: id, responseExample: { items: [{ keyId: EXAMPLE_FEED_KEY.keyId, createdAt: EXAMPLE_FEED_KEY.createdAt, revokedAt: null }] }, errors: { 404: 'No such provider.' } })
  async feedKeys(@Param('id') raw: string) {
    return { items: await this.access.feedKeys(parseRequest(principalIdParam, raw, 'path')) };
  }

  @Delete('providers/:id/feed-keys/:keyId')
  @Audited('feed-key.revoke')
  @Doc({ tag: 'admin', summary: 'Revoke a feed key now', description: 'Ticks signed with it are refused (DLQ `unauthenticated`, or 401 over HTTP).', params: idKey, responseExample: { keyId: EXAMPLE_FEED_KEY.keyId, revokedAt: '2026-11-27T10:00:00.000Z' }, errors: { 404: 'No such feed key of this provider.' } })
  async revokeFeedKey(@Param('id') rawId: string, @Param('keyId') rawKey: string) {
    return this.access.revokeFeedKey(parseRequest(principalIdParam, rawId, 'path'), parseRequest(keyIdParam, rawKey, 'path'));
  }

  @Put('customers/:id/credit-limit')
  @HttpCode(200)
  @Audited('funds.credit-limit')
  @Doc({ tag: 'admin', summary: "Set a customer's credit limit", params: id, body: creditLimitBody, requestExample: { limit: '1000' }, responseExample: { ...EXAMPLE_FUNDS, creditLimitNanoUsd: '1000000000000' } })
  async creditLimit(@Param('id') raw: string, @Body() body: unknown, @Req() req: AuditedRequest) {
    const customerId = parseRequest(principalIdParam, raw, 'path');
    const input = parseRequest(creditLimitBody, body, 'body');
    req.auditDetail = { limit: input.limit };
    return this.billing.relay('PUT', `/v1/customers/${encodeURIComponent(customerId)}/credit-limit`, input);
  }

  @Post('invoices/:id/finalize')
  @HttpCode(200)
  @Audited('invoice.finalize')
  @Doc({
    tag: 'admin',
    summary: 'Close a draft invoice before its grace period ends',
    description: 'Writes its lines and posts the rounding to whole cents; a final invoice never changes again.',
    params: { id: invoiceIdParam },
    status: 200,
    responseExample: { invoiceId: 'inv:acme:2026-11', status: 'final', totalMinor: '8012' },
    errors: { 404: 'No such invoice.' },
  })
  async finalize(@Param('id') raw: string) {
    const invoiceId = parseRequest(invoiceIdParam, raw, 'path');
    return this.billing.relay('POST', `/v1/invoices/${encodeURIComponent(invoiceId)}/finalize`);
  }

  @Get('audit')
  @Doc({
    tag: 'admin',
    summary: 'The audit log of privileged actions, newest first',
    query: auditQuery,
    responseExample: {
      items: [{ id: '42', at: '2026-11-27T09:00:00.000Z', principal: 'admin', role: 'admin', keyId: 'localadmin', action: 'principal.create', method: 'POST', path: '/v1/admin/principals', status: 201, ip: '127.0.0.1', userAgent: 'curl/8.5.0', detail: { principal: 'acme', role: 'customer' } }],
      nextCursor: null,
    },
  })
  async audit(@Query() raw: unknown) {
    const q = parseRequest(auditQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 1)?.[0];
    const rows: { audit_id: string; at: Date; principal_id: string; role: string; key_id: string; action: string; method: string; path: string; status: number; ip: string; user_agent: string | null; detail: unknown }[] =
      await this.dataSource.query(
        `SELECT * FROM "${G}".audit_log
          WHERE ($1::text IS NULL OR principal_id = $1) AND ($2::text IS NULL OR action = $2)
            AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
            AND ($5::bigint IS NULL OR audit_id < $5)
          ORDER BY audit_id DESC LIMIT $6`,
        [q.principal ?? null, q.action ?? null, q.from ?? null, q.to ?? null, typeof after === 'string' && /^\d{1,19}$/.test(after) ? after : null, q.limit + 1],
      );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => ({ id: r.audit_id, at: r.at.toISOString(), principal: r.principal_id, role: r.role, keyId: r.key_id, action: r.action, method: r.method, path: r.path, status: r.status, ip: r.ip, userAgent: r.user_agent, detail: r.detail })),
      nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.audit_id]) : null,
    };
  }
}
