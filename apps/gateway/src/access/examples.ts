/** Examples the API description shows; the OpenAPI test checks each request example against its schema. */
export const EXAMPLE_KEY = {
  keyId: '3f9a1c0d7b2e4a68',
  label: 'first key',
  createdAt: '2026-11-27T09:00:00.000Z',
  revokedAt: null,
  token: 'sgk_3f9a1c0d7b2e4a68_q8Vx0M2nS8dA9yT1bF4cJ7kL0pR3uW6zE5hG2iK8mN1',
};
export const EXAMPLE_PRINCIPAL = { id: 'acme', role: 'customer', name: 'Acme Inference Ltd', createdAt: '2026-11-27T09:00:00.000Z', disabledAt: null };
export const EXAMPLE_FEED_KEY = {
  keyId: 'fk4b1e9c2a7d3f5e6a08',
  providerId: 'gpu-east',
  secret: 'mB0d9q7Jx2pV5sL8cA1fK4nR6tY3wE0zH9gU2iO5kQ8',
  createdAt: '2026-11-27T09:00:00.000Z',
  revokedAt: null,
};
export const EXAMPLE_FUNDS = {
  customerId: 'acme',
  balanceNanoUsd: '500000000000',
  creditLimitNanoUsd: '0',
  heldNanoUsd: '12000000000',
  availableNanoUsd: '488000000000',
  balance: '500',
  available: '488',
};
