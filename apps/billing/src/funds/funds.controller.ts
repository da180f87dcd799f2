import { Body, Controller, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { identifier, nonNegativeDecimalString } from '#contracts';
import { DecimalError, formatAtomic, parseDecimal, toAtomicExact, USD_SCALE } from '#pricing';
import { Access, parseRequest, ProblemException } from '#runtime';
import { FundsService, type CustomerFunds } from './funds.service.js';

const usd = (n: bigint) => formatAtomic(n, USD_SCALE);

function view(f: CustomerFunds) {
  return {
    customerId: f.customerId,
    balanceNanoUsd: f.balanceNanoUsd.toString(),
    creditLimitNanoUsd: f.creditLimitNanoUsd.toString(),
    heldNanoUsd: f.heldNanoUsd.toString(),
    availableNanoUsd: f.availableNanoUsd.toString(),
    balance: usd(f.balanceNanoUsd),
    available: usd(f.availableNanoUsd),
  };
}

function nano(amount: string, field: string): bigint {
  try {
    return toAtomicExact(parseDecimal(amount), USD_SCALE);
  } catch (error) {
    if (error instanceof DecimalError) throw new ProblemException({ title: 'invalid body', status: 400, detail: `${field}: at most ${USD_SCALE} decimal places` });
    throw error;
  }
}

const positive = nonNegativeDecimalString.refine((v) => !/^0(\.0+)?$/.test(v), 'must be more than 0');
const moneyIn = z.object({ amount: positive, reference: z.string().min(1).max(200) }).strict();
const creditLimit = z.object({ limit: nonNegativeDecimalString }).strict();
const holdRequest = z.object({ holdId: z.string().min(1).max(200), customerId: identifier, jobId: z.uuid(), amountNanoUsd: z.string().regex(/^\d{1,30}$/) }).strict();

/**
 * Customer money over billing's internal HTTP API: balances, top-ups and grants, credit limits,
 * and the pre-trade hold the gateway places before it queues a job. Only Spotgrid services call
 * it (the service token); people reach it through the gateway, with their role checked there.
 */
@Controller('v1')
@Access.service()
export class FundsController {
  constructor(private readonly funds: FundsService) {}

  @Get('customers/:id/balance')
  async balance(@Param('id') raw: string) {
    return view(await this.funds.funds(parseRequest(identifier, raw, 'path')));
  }

  @Post('customers/:id/top-ups')
  async topUp(@Param('id') raw: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    return this.money(raw, body, 'top-up', res);
  }

  @Post('customers/:id/grants')
  async grant(@Param('id') raw: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    return this.money(raw, body, 'grant', res);
  }

  @Put('customers/:id/credit-limit')
  async setCreditLimit(@Param('id') raw: string, @Body() body: unknown) {
    const customerId = parseRequest(identifier, raw, 'path');
    const req = parseRequest(creditLimit, body, 'body');
    return view(await this.funds.setCreditLimit(customerId, nano(req.limit, 'limit')));
  }

  /** 201 with the funds after the hold, or 402 with what is available. */
  @Post('holds')
  @HttpCode(201)
  async hold(@Body() body: unknown) {
    const req = parseRequest(holdRequest, body, 'body');
    const result = await this.funds.placeHold({ holdId: req.holdId, customerId: req.customerId, jobId: req.jobId, amountNanoUsd: BigInt(req.amountNanoUsd) });
    if (!result.held) {
      throw new ProblemException({
        title: 'insufficient funds',
        status: 402,
        detail: `${req.amountNanoUsd} nano-USD needed; ${result.funds.availableNanoUsd} nano-USD available (balance + credit limit − open holds)`,
        extensions: { availableNanoUsd: result.funds.availableNanoUsd.toString() },
      });
    }
    return view(result.funds);
  }

  /** Releases a hold whose job was never stored (the gateway's intake failed after the hold). */
  @Post('holds/:id/void')
  @HttpCode(200)
  async voidHold(@Param('id') raw: string) {
    const holdId = parseRequest(z.string().min(1).max(200), raw, 'path');
    return { holdId, voided: await this.funds.voidHold(holdId) };
  }

  private async money(raw: string, body: unknown, kind: 'top-up' | 'grant', res: Response) {
    const customerId = parseRequest(identifier, raw, 'path');
    const req = parseRequest(moneyIn, body, 'body');
    const result = await this.funds.topUp(customerId, req.reference, nano(req.amount, 'amount'), kind);
    if (!result.posted) throw new ProblemException({ title: 'reference reused', status: 409, detail: `reference ${req.reference} was used for a different ${kind}` });
    res.status(201);
    return view(result.funds);
  }
}
