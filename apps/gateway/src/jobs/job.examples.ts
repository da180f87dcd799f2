/** What the API description shows for jobs; request examples are checked against their schemas. */
const JOB_ID = '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d';
const ALLOCATION_ID = '7d4e0c1a-5b8f-4a3e-9c2d-1f0e6b7a8c9d';

export const JOB_REQUEST_EXAMPLE = {
  instrument: 'model:llama-3.1-70b',
  quantity: '0.5',
  limitPrice: '0.60',
  deadline: '2026-11-28T00:00:00Z',
  constraints: { regions: ['us-east-1', 'eu-west-1'], dataPolicies: ['no-retention'] },
  work: {
    type: 'requests',
    requests: [{ custom_id: 'q-1', body: { model: 'llama-3.1-70b', messages: [{ role: 'user', content: 'Summarise the attached filing.' }] } }],
  },
};

export const JOB_EXAMPLE = {
  id: JOB_ID,
  customerId: 'acme',
  status: 'queued',
  reason: null,
  instrument: 'model:llama-3.1-70b',
  quantity: '0.5',
  filledQuantity: '0',
  limitPrice: '0.6',
  limitNanoUsd: '600000000',
  allowSplit: true,
  deferrable: true,
  constraints: { regions: ['us-east-1', 'eu-west-1'], dataPolicies: ['no-retention'] },
  earliestStart: '2026-11-27T09:00:00.000Z',
  latestStart: '2026-11-27T23:45:00.000Z',
  deadline: '2026-11-28T00:00:00.000Z',
  runtimeSeconds: 900,
  deferredUntil: null,
  cancelRequestedAt: null,
  // The work is summarised (a job can carry 10,000 requests): its type and size.
  work: { type: 'requests', requests: 1 },
  hold: { worstCaseNanoUsd: '306000000', worstCase: '0.306' },
  forecast: null,
  createdAt: '2026-11-27T09:00:00.000Z',
  updatedAt: '2026-11-27T09:00:00.120Z',
};

export const JOB_DETAIL_EXAMPLE = {
  ...JOB_EXAMPLE,
  status: 'completed',
  filledQuantity: '0.5',
  events: [
    { id: `${JOB_ID}:queued`, type: 'status', status: 'queued', reason: null, filledQuantity: null, allocationIds: null, until: null, at: '2026-11-27T09:00:00.050Z' },
    { id: `${JOB_ID}.1`, type: 'status', status: 'matched', reason: null, filledQuantity: '0.5', allocationIds: [ALLOCATION_ID], until: null, at: '2026-11-27T09:00:00.080Z' },
    { id: `${JOB_ID}:completed`, type: 'status', status: 'completed', reason: null, filledQuantity: '0.5', allocationIds: null, until: null, at: '2026-11-27T09:00:04.000Z' },
  ],
  allocations: [
    {
      id: ALLOCATION_ID,
      providerId: 'gpu-east',
      offerId: 'l70b-use1',
      region: 'us-east-1',
      gridZone: 'PJM',
      quantity: '0.5',
      unitPrice: { computeNanoUsd: '540000000', energyNanoUsd: '12000000', effectiveNanoUsd: '552000000', effective: '0.552' },
      amountNanoUsd: '276000000',
      feeNanoUsd: '5520000',
      matchedAt: '2026-11-27T09:00:00.080Z',
      run: { status: 'succeeded', reason: null, startedAt: '2026-11-27T09:00:00.300Z', endedAt: '2026-11-27T09:00:03.900Z' },
    },
  ],
};

export const RESULTS_EXAMPLE = {
  jobId: JOB_ID,
  status: 'completed',
  items: [
    {
      customId: 'q-1',
      requestIndex: 0,
      status: 'succeeded',
      allocationId: ALLOCATION_ID,
      providerId: 'gpu-east',
      response: { statusCode: 200, body: { choices: [{ message: { role: 'assistant', content: 'The filing reports…' } }], usage: { prompt_tokens: 812, completion_tokens: 164 } } },
      error: null,
      usage: { inputTokens: 812, outputTokens: 164 },
      startedAt: '2026-11-27T09:00:00.300Z',
      endedAt: '2026-11-27T09:00:03.900Z',
    },
  ],
  nextCursor: null,
};
