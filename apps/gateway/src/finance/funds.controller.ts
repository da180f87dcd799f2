import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Access, Audited, CurrentPrincipal, Doc, parseRequest, ProblemException, type Principal } from '#runtime';
import { moneyBody, principalIdParam } from '../access/access.request.js';
import type { AuditedRequest } from '../access/audit.interceptor.js';
import { EXAMPLE_FUNDS } from '../access/examples.js';
import { owns } from '../access/tenancy.js';
import { BillingClient } from '../billing/billing.client.js';

const id = { id: principalIdParam };

/**
 * A customer's money, through billing's internal API: its balance (finance, admin, and the
 * customer itself), and the only changes finance makes, top-ups and grants (each once per reference).
 */
@Controller('v1/finance/customers')
export class FundsController {
  constructor(private readonly billing: BillingClient) {}

  @Get(':id/balance')
  @Access.roles('finance', 'admin', 'customer')
  @Doc({ tag: 'finance', summary: "A customer's balance, credit limit, holds and what is available", params: id, responseExample: EXAMPLE_FUNDS, errors: { 404: 'Not yours.' } })
  async balance(@Param('id') raw: string, @CurrentPrincipal() who: Principal) {
    const customerId = parseRequest(principalIdParam, raw, 'path');
    if (!owns(who, customerId)) throw new ProblemException({ title: 'not found', status: 404, detail: `no customer ${customerId}` });
    return this.billing.relay('GET', `/v1/customers/${encodeURIComponent(customerId)}/balance`);
  }

  @Post(':id/top-ups')
  @Access.roles('finance', 'admin')
  @Audited('funds.top-up')
  @Doc({
    tag: 'finance',
    summary: "Credit a customer's balance with money received",
    description: 'Posted once per reference: the same reference again answers the same balance; with another amount, 409.',
    params: id,
    body: moneyBody,
    requestExample: { amount: '500', reference: 'wire-2026-11-27-001' },
    responseExample: EXAMPLE_FUNDS,
    errors: { 409: 'The reference was used for a different amount.' },
  })
  async topUp(@Param('id') raw: string, @Body() body: unknown, @Req() req: AuditedRequest, @Res({ passthrough: true }) res: Response) {
    return this.money('top-ups', raw, body, req, res);
  }

  @Post(':id/grants')
  @Access.roles('finance', 'admin')
  @Audited('funds.grant')
  @Doc({
    tag: 'finance',
    summary: 'Grant a customer credit (promotional, goodwill)',
    description: 'Posted once per reference, as top-ups are.',
    params: id,
    body: moneyBody,
    requestExample: { amount: '25', reference: 'goodwill-incident-1142' },
    responseExample: EXAMPLE_FUNDS,
    errors: { 409: 'The reference was used for a different amount.' },
  })
  async grant(@Param('id') raw: string, @Body() body: unknown, @Req() req: AuditedRequest, @Res({ passthrough: true }) res: Response) {
    return this.money('grants', raw, body, req, res);
  }

  private async money(kind: 'top-ups' | 'grants', raw: string, body: unknown, req: AuditedRequest, res: Response) {
    const customerId = parseRequest(principalIdParam, raw, 'path');
    const input = parseRequest(moneyBody, body, 'body');
    const answer = await this.billing.relay('POST', `/v1/customers/${encodeURIComponent(customerId)}/${kind}`, input);
    req.auditDetail = { customer: customerId, amount: input.amount, reference: input.reference };
    res.status(201);
    return answer;
  }
}
