import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { Access, Audited, CurrentPrincipal, Doc, parseRequest, type Principal } from '#runtime';
import { AccessService } from './access.service.js';
import { rotateBody } from './access.request.js';
import type { AuditedRequest } from './audit.interceptor.js';
import { EXAMPLE_KEY, EXAMPLE_PRINCIPAL } from './examples.js';

const { token: _token, ...EXAMPLE_KEY_LISTED } = EXAMPLE_KEY;

/** Any principal: who am I, and rotate the key I am calling with. */
@Controller('v1/me')
@Access.roles('customer', 'provider', 'finance', 'admin')
export class MeController {
  constructor(private readonly access: AccessService) {}

  @Get()
  @Doc({ tag: 'access', summary: 'The principal of this key, and its keys', responseExample: { ...EXAMPLE_PRINCIPAL, keys: [EXAMPLE_KEY_LISTED], currentKeyId: EXAMPLE_KEY.keyId } })
  async me(@CurrentPrincipal() who: Principal) {
    return { ...(await this.access.principal(who.id)), currentKeyId: who.keyId };
  }

  @Post('key/rotate')
  @HttpCode(201)
  @Audited('key.rotate-own')
  @Doc({
    tag: 'access',
    summary: 'Rotate the key of this request',
    description: 'Answers a new key (once); the key used for this call keeps working for `graceSeconds` (0: stops now).',
    body: rotateBody,
    requestExample: { graceSeconds: 600 },
    responseExample: { key: EXAMPLE_KEY, previous: { ...EXAMPLE_KEY_LISTED, keyId: '9c0e4d1a2b3f5a67', revokedAt: '2026-11-27T09:10:00.000Z' } },
  })
  async rotate(@CurrentPrincipal() who: Principal, @Body() body: unknown, @Req() req: AuditedRequest) {
    const rotated = await this.access.rotateKey(who.id, who.keyId, parseRequest(rotateBody, body ?? {}, 'body').graceSeconds);
    req.auditDetail = { keyId: rotated.key.keyId, previous: who.keyId };
    return rotated;
  }
}
