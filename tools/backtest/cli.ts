import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backtest, type Report } from './backtester.js';
import { InputError, readTexts } from './inputs.js';

const USAGE = `usage: npm run backtest -- --jobs F [--ticks F] [--tariffs F] [--fx F] [--out report.json] [--fee-bps N]

  --ticks F     market.spot-prices.v1 messages, one per line (npm run feed -- ... --to-jsonl F writes them)
  --tariffs F   market.energy-tariffs.v1 messages
  --fx F        market.fx-rates.v1 messages
  --jobs F      jobs in the POST /v1/jobs shape, each with "submittedAt" (and optionally "customerId", "id")
  --out F       the JSON report (default: not written; the summary is always printed)
  --fee-bps N   the platform fee in basis points (default 200, as PLATFORM_FEE_BPS)`;

function fail(message: string, code: number): never {
  process.stderr.write(`backtest: ${message}\n`);
  process.exit(code);
}

/** nano-USD as dollars, exact, at least cents. */
export function usd(nano: bigint): string {
  const sign = nano < 0n ? '-' : '';
  const abs = nano < 0n ? -nano : nano;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${sign}$${(abs / 1_000_000_000n).toString()}.${fraction}`;
}

function saving(base: bigint, cost: bigint): string {
  if (base === 0n) return 'n/a';
  const saved = base - cost;
  const basisPoints = (saved * 10_000n) / base;
  const pct = `${basisPoints < 0n ? '-' : ''}${(basisPoints < 0n ? -basisPoints : basisPoints) / 100n}.${((basisPoints < 0n ? -basisPoints : basisPoints) % 100n).toString().padStart(2, '0')}`;
  return `${usd(base)}: saved ${usd(saved)} (${pct}%)`;
}

export function summary(r: Report): string {
  const t = r.totals;
  const cost = BigInt(t.costNanoUsd);
  return [
    `backtest: ${r.inputs.ticks} ticks, ${r.inputs.tariffs} tariffs, ${r.inputs.fx} FX rates, ${r.inputs.jobs} jobs`,
    `  jobs: ${t.filled} filled, ${t.partiallyFilled} partly filled, ${t.expired} expired, ${t.refused} refused${t.open > 0 ? `, ${t.open} open` : ''}`,
    `  cost of what was filled: ${usd(cost)}`,
    `  against the first-listed eligible offer at submission, ${saving(BigInt(t.firstListedNanoUsd), cost)}`,
    `  against the cheapest offer ignoring energy at submission, ${saving(BigInt(t.cheapestIgnoringEnergyNanoUsd), cost)}`,
  ].join('\n');
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        ticks: { type: 'string' },
        tariffs: { type: 'string' },
        fx: { type: 'string' },
        jobs: { type: 'string' },
        out: { type: 'string' },
        'fee-bps': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 64);
  }
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (values.jobs === undefined) fail(`--jobs is required\n${USAGE}`, 64);
  const feeBps = values['fee-bps'] === undefined ? 200 : Number(values['fee-bps']);
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 5_000) fail('--fee-bps must be a whole number from 0 to 5000', 64);
  let report: Report;
  try {
    const texts = readTexts({ jobs: values.jobs, ...(values.ticks && { ticks: values.ticks }), ...(values.tariffs && { tariffs: values.tariffs }), ...(values.fx && { fx: values.fx }) });
    report = backtest(feeBps, texts);
  } catch (error) {
    if (error instanceof InputError) fail(error.message, 65);
    throw error;
  }
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${summary(report)}\n${values.out === undefined ? '' : `  report: ${values.out}\n`}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
