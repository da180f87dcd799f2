export * from './decimal.js';
export * from './money.js';
export * from './effective-price.js';
export * from './tariff-curve.js';
export * from './fx-rates.js';
export * from './quantity.js';
export * from './forward-curve.js';
