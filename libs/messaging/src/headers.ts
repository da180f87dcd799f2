import type { IHeaders } from 'kafkajs';

/** Kafka header names Spotgrid reads or writes. */
export const Header = {
  CorrelationId: 'x-correlation-id',
  ErrorCode: 'x-error-code',
  ErrorDetail: 'x-error-detail',
  OriginalTopic: 'x-original-topic',
  OriginalPartition: 'x-original-partition',
  OriginalOffset: 'x-original-offset',
  FirstSeen: 'x-first-seen',
  /** On a DLQ copy cut to Limits.dlqTruncatedBytes: the original value's size in bytes. */
  OriginalSize: 'x-original-size',
  Signature: 'x-signature',
  KeyId: 'x-key-id',
} as const;

export type HeaderMap = Record<string, string>;

/** Kafka headers arrive as Buffers, strings or arrays of them; the first value of each, as text. */
export function readHeaders(headers: IHeaders | undefined): HeaderMap {
  const out: HeaderMap = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) continue;
    out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}
