export * from './policy.js';
export * from './principal.js';
export * from './route-table.js';
export * from './access.guard.js';
export * from './openapi.js';
export * from './request-shape.interceptor.js';
