import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { amountNanoUsd, feeNanoUsd, formatAtomic, formatQuantity, parseDecimal, parseQuantityMicro, toAtomicExact, USD_SCALE, DecimalError } from '#pricing';
import { Access, CONFIG, Doc, parseRequest, ProblemException, type Config } from '#runtime';
import { Inject } from '@nestjs/common';
import { quoteRequestSchema } from './job.request.js';
import { MarketSnapshot } from './market-snapshot.js';
import { eligibleOffers, fillsNow, forecast, unsatisfiable } from '#market';

/** Without a deadline, "would waiting be cheaper" looks this far ahead. */
const DEFAULT_LOOKAHEAD_MS = 24 * 3_600_000;
const NO_LIMIT = 2n ** 62n;

const usd = (nano: bigint): string => formatAtomic(nano, USD_SCALE);

/**
 * The pre-trade quote: what this job would cost now, where, and whether waiting for a cheaper
 * tariff slot (before its latest start) is predicted to be cheaper. Nothing is reserved.
 */
@Controller('v1/quotes')
export class PreTradeController {
  constructor(
    private readonly market: MarketSnapshot,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Post()
  @HttpCode(200)
  @Access.roles('customer', 'provider', 'finance', 'admin')
  @Doc({
    tag: 'jobs',
    summary: 'What a job would cost now, and whether waiting is predicted to be cheaper',
    description: 'Nothing is reserved or stored.',
    status: 200,
    body: quoteRequestSchema,
    requestExample: { instrument: 'gpu:h100', quantity: '4', limitPrice: '3.00', allowSplit: true, runtimeSeconds: 3600, deadline: '2026-11-28T00:00:00Z', constraints: { regions: ['us-east-1', 'eu-west-1'] } },
    responseExample: {
      instrument: 'gpu:h100',
      quantity: '4',
      asOf: '2026-11-27T09:30:00.000Z',
      now: {
        fillable: true,
        filledQuantity: '4',
        fills: [{ providerId: 'gpu-east', offerId: 'h100-use1', region: 'us-east-1', quantity: '4', unitPriceNanoUsd: '2148000000', unitPrice: '2.148' }],
        amountNanoUsd: '8592000000',
        feeNanoUsd: '171840000',
        totalNanoUsd: '8763840000',
        total: '8.76384',
        averageUnitPriceNanoUsd: '2148000000',
      },
      waiting: { from: '2026-11-27T13:00:00.000Z', until: '2026-11-27T13:30:00.000Z', unitPriceNanoUsd: '2101000000', unitPrice: '2.101', amountNanoUsd: '8404000000' },
      forecast: [{ start: '2026-11-27T13:00:00.000Z', end: '2026-11-27T13:30:00.000Z', effectiveNanoUsd: '2101000000' }],
    },
    errors: { 422: 'The constraints exclude every offer.' },
  })
  async quote(@Body() body: unknown) {
    const req = parseRequest(quoteRequestSchema, body, 'body');
    let quantityMicro: bigint;
    let limit = NO_LIMIT;
    try {
      quantityMicro = parseQuantityMicro(req.quantity);
      if (req.limitPrice !== undefined) limit = toAtomicExact(parseDecimal(req.limitPrice), USD_SCALE);
    } catch (error) {
      if (error instanceof DecimalError) throw new ProblemException({ title: 'invalid body', status: 400, detail: error.message });
      throw error;
    }
    const now = Date.now();
    let snapshot = await this.market.get();
    if (unsatisfiable(snapshot, req.instrument, req.constraints, now) !== undefined) snapshot = await this.market.get(0);
    const why = unsatisfiable(snapshot, req.instrument, req.constraints, now);
    if (why !== undefined) throw new ProblemException({ title: 'constraints cannot be met', status: 422, detail: why });

    const offers = eligibleOffers(snapshot, req.instrument, req.constraints, now);
    const { fills, offers: byAsk } = fillsNow(offers, { quantityMicro, limitNanoUsd: limit, allowSplit: req.allowSplit, constraints: req.constraints }, now);
    const filled = fills.reduce((s, f) => s + f.quantity, 0n);
    const amount = fills.reduce((s, f) => s + amountNanoUsd(f.quantity, f.price), 0n);
    const fee = feeNanoUsd(amount, this.config.PLATFORM_FEE_BPS);

    const latestStart = req.deadline === undefined ? now + DEFAULT_LOOKAHEAD_MS : Date.parse(req.deadline) - req.runtimeSeconds * 1_000;
    const curve = forecast(snapshot, offers, now, Math.max(now, latestStart));
    const nowUnit = filled > 0n ? (amount * 1_000_000n) / filled : undefined;
    let waiting = null;
    for (const slot of curve) {
      const start = Date.parse(slot.start);
      const price = BigInt(slot.effectiveNanoUsd);
      if (start <= now || price > limit) continue;
      if (waiting === null || price < BigInt(waiting.unitPriceNanoUsd)) {
        waiting = { from: slot.start, until: slot.end, unitPriceNanoUsd: slot.effectiveNanoUsd, unitPrice: usd(price), amountNanoUsd: amountNanoUsd(quantityMicro, price).toString() };
      }
    }
    // Waiting is only worth mentioning when it is predicted to beat what can be had now.
    if (waiting !== null && nowUnit !== undefined && BigInt(waiting.unitPriceNanoUsd) >= nowUnit) waiting = null;
    return {
      instrument: req.instrument,
      quantity: req.quantity,
      asOf: new Date(snapshot.at).toISOString(),
      now: {
        fillable: req.allowSplit ? filled === quantityMicro : fills.length > 0,
        filledQuantity: formatQuantity(filled),
        fills: fills.map((f) => {
          const o = byAsk.get(f.askId);
          return {
            providerId: f.providerId,
            offerId: o?.offerId ?? null,
            region: f.region,
            quantity: formatQuantity(f.quantity),
            unitPriceNanoUsd: f.price.toString(),
            unitPrice: usd(f.price),
          };
        }),
        amountNanoUsd: amount.toString(),
        feeNanoUsd: fee.toString(),
        totalNanoUsd: (amount + fee).toString(),
        total: usd(amount + fee),
        averageUnitPriceNanoUsd: nowUnit?.toString() ?? null,
      },
      waiting,
      forecast: curve,
    };
  }
}
