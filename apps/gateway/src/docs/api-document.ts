import { openApiDocument, routeTable } from '#runtime';
import { API_TAGS, GATEWAY_CONTROLLERS } from '../gateway.routes.js';

/** The gateway's OpenAPI document, generated from its route table (policies, schemas, examples). */
export function gatewayApiDocument(): Record<string, unknown> {
  return openApiDocument(routeTable(GATEWAY_CONTROLLERS), {
    title: 'Spotgrid API',
    version: '1.0.0',
    description: [
      'The compute-arbitrage spot market: providers publish prices, customers submit batch jobs that are matched to the cheapest eligible offer, finance reads the inference-billing ledger.',
      '',
      'Authenticate with `Authorization: Bearer <API key>`. Each key belongs to a principal with one role (customer, provider, finance, admin); customers and providers see their own records only.',
      'Money is in nano-USD as integer strings (`…NanoUsd`), with USD decimal strings beside them for people. Errors are `application/problem+json` (RFC 9457).',
    ].join('\n'),
    serverUrl: '/',
    tags: API_TAGS,
  });
}
