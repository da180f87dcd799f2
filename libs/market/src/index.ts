/**
 * The market's pure rules above the order book, shared by the live services and the backtester:
 * effective quotes from offers, tariffs and FX (market-data); jobs read into terms, markets
 * snapshotted, constraints checked and forecasts made (gateway).
 */
export * from './quotes.js';
export * from './snapshot.js';
export * from './pre-trade.js';
export * from './job-request.js';
export * from './convert.js';
export * from './savings.js';
export * from './history.js';
