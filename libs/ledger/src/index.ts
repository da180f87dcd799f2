export * from './journal.js';
export * from './postings.js';
export * from './holds.js';
export * from './invoice.js';
