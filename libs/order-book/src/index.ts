export * from './types.js';
export * from './order-book.js';
export * from './policy.js';
export * from './timer-heap.js';
export * from './market.js';
