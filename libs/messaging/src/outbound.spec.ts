import { jsonRowWithValue, outboxRowsJson, type OutboundMessage } from './outbound.js';

describe('rows that carry a message for json_to_recordset', () => {
  const value = Buffer.from('{"say":"a \\"quoted\\" word","n":1,"é":[1, 2]}');

  it('embeds the value as JSON, byte for byte, after the row’s own fields', () => {
    const text = jsonRowWithValue({ usage_id: 'u1', key: null }, value);
    expect(JSON.parse(text)).toEqual({ usage_id: 'u1', key: null, value: JSON.parse(value.toString('utf8')) });
    expect(text.endsWith(`"value":${value.toString('utf8')}}`)).toBe(true);
  });

  it('makes a valid row when there are no other fields', () => {
    expect(JSON.parse(jsonRowWithValue({}, value))).toEqual({ value: JSON.parse(value.toString('utf8')) });
  });

  it('makes an array of outbox rows, empty included', () => {
    const m: OutboundMessage = { topic: 't', key: 'k', value, headers: { 'x-correlation-id': 'c' } };
    expect(JSON.parse(outboxRowsJson([m, m]))).toEqual([
      { topic: 't', key: 'k', headers: { 'x-correlation-id': 'c' }, value: JSON.parse(value.toString('utf8')) },
      { topic: 't', key: 'k', headers: { 'x-correlation-id': 'c' }, value: JSON.parse(value.toString('utf8')) },
    ]);
    expect(outboxRowsJson([])).toBe('[]');
  });
});
