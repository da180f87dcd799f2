import { describe, expect, it } from '@jest/globals';
import { isTransientError } from './transient.js';

describe('isTransientError', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['admin shutdown (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['serialization failure', Object.assign(new Error('could not serialize'), { code: '40001' })],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['wrapped by TypeORM', Object.assign(new Error('query failed'), { driverError: { code: '08006' } })],
    ['kafkajs connection error', Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' })],
    ['kafkajs retries exhausted (broker down)', Object.assign(new Error('retries'), { name: 'KafkaJSNumberOfRetriesExceeded' })],
  ])('retries %s', (_, error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a check violation', Object.assign(new Error('violates check'), { code: '23514' })],
    ['a plain bug', new TypeError('x is undefined')],
    ['not an error', 'boom'],
    ['a non-retriable kafkajs error', Object.assign(new Error('no'), { name: 'KafkaJSNonRetriableError' })],
  ])('does not retry %s', (_, error) => {
    expect(isTransientError(error)).toBe(false);
  });
});
