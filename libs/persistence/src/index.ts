export * from './schemas.js';
export * from './data-source.js';
export * from './bigint.js';
export * from './transient.js';
export * from './prepared.js';
export * from './pg-arrays.js';
