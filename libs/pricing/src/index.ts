export * from './decimal.js';
export * from './money.js';
export * from './effective-price.js';
export * from './tariff-curve.js';
