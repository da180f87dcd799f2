export * from './topics.js';
export * from './primitives.js';
export * from './market.js';
export * from './registry.js';
export * from './signing.js';
export * from './jobs.js';
export * from './queues.js';
export * from './accept.js';
