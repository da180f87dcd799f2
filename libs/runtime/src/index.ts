export * from './tokens.js';
export * from './service.module.js';
export * from './bootstrap.js';
export * from './consumer-handle.js';
export * from './connections.js';
export * from './problem.filter.js';
export * from './validation.js';
export * from './access/index.js';
