import { Topic, type SpotPriceTick } from '#contracts';
import { offerTickOf, readLines, streamJobs, streamLines, textOf, type BacktestInputs, type BacktestSources, type InputText, type InputTexts, type Located, type OfferTick } from './inputs.js';
import { ticksOf, type TicksOptions } from './tick-reader.js';

/** How the ticks file is read: by this thread alone, or, when its bytes allow, with a second (`tick-reader.ts`). */
export type ReadOptions = Pick<TicksOptions, 'threads' | 'stats'>;

/** The inputs read one message at a time, in file order (for `Backtester.stream`). */
export function sourcesOf(texts: InputTexts, options: ReadOptions = {}): BacktestSources {
  return {
    ticks: ticksFrom(texts.ticks, options),
    tariffs: texts.tariffs === undefined ? [] : streamLines(texts.tariffs.file, textOf(texts.tariffs), Topic.EnergyTariffs),
    fx: texts.fx === undefined ? [] : streamLines(texts.fx.file, textOf(texts.fx), Topic.FxRates),
    jobs: streamJobs(texts.jobs.file, textOf(texts.jobs)),
  };
}

/** A ticks file's offer states: read from its bytes in blocks (on two threads when it can), or from its text. */
function ticksFrom(input: InputText | undefined, options: ReadOptions): Iterable<Located<OfferTick>> {
  if (input === undefined) return [];
  return typeof input.text === 'string' ? offerTicks(streamLines(input.file, input.text, Topic.SpotPrices)) : ticksOf(input.file, input.text, options);
}

function* offerTicks(ticks: Iterable<Located<SpotPriceTick>>): Generator<Located<OfferTick>> {
  for (const { message, line } of ticks) yield { message: offerTickOf(message), line };
}

/** Every input read and checked before any is replayed (for `Backtester.run`, which sorts them). */
export function inputsOf(texts: InputTexts): BacktestInputs {
  const ticks = texts.ticks === undefined ? [] : readLines(texts.ticks.file, textOf(texts.ticks), Topic.SpotPrices);
  const sources = sourcesOf(texts);
  return { ticks, tariffs: [...sources.tariffs], fx: [...sources.fx], jobs: [...sources.jobs] };
}
