import { AdminController } from './access/admin.controller.js';
import { MeController } from './access/me.controller.js';
import { ProviderController } from './access/provider.controller.js';
import { TickIngestController } from './feed/tick-ingest.controller.js';
import { FinanceController } from './finance/finance.controller.js';
import { FundsController } from './finance/funds.controller.js';
import { InvoicesController } from './finance/invoices.controller.js';
import { JobEventsConsumer } from './jobs/job-events.consumer.js';
import { JobsController } from './jobs/jobs.controller.js';
import { PreTradeController } from './jobs/pre-trade.controller.js';
import { SavingsController } from './jobs/savings.controller.js';
import { JobStreamController } from './live/job-stream.controller.js';
import { MarketReadController } from './market/market-read.controller.js';
import { QuoteStreamController } from './market/quote-stream.controller.js';

/**
 * The gateway's controllers: its HTTP API (the route table the access matrix and the OpenAPI
 * document are generated from) and its Kafka consumer. The docs controller serves the
 * description of these and is added by the module.
 */
export const GATEWAY_CONTROLLERS = [
  MeController,
  AdminController,
  ProviderController,
  TickIngestController,
  MarketReadController,
  QuoteStreamController,
  JobStreamController,
  JobsController,
  PreTradeController,
  SavingsController,
  FinanceController,
  InvoicesController,
  FundsController,
  JobEventsConsumer,
];

export const API_TAGS = {
  access: 'Who you are, and your own API key.',
  jobs: 'Batch jobs: pre-trade quotes, submission, lifecycle, results, cancellation.',
  market: 'Instruments, live quotes with their compute/energy split, price and tariff history.',
  providers: "A provider's feed (signed ticks), offers, allocations and feed keys.",
  finance: 'Journal entries, balances, invoices, statements, reconciliation, top-ups and grants.',
  admin: 'Principals, API keys, feed keys, credit limits, early invoice closing, the audit log.',
};
