import { Schemas1764150000000 } from './1764150000000-schemas.js';
import { MarketSpotPriceTicks1764150001000 } from './1764150001000-market-spot-price-ticks.js';
import { MarketIngest1764160000000 } from './1764160000000-market-ingest.js';
import { GatewayMarketViews1764170000000 } from './1764170000000-gateway-market-views.js';
import { MatchingBook1764180000000 } from './1764180000000-matching-book.js';
import { GatewayJobs1764180001000 } from './1764180001000-gateway-jobs.js';
import { BillingJournal1764190000000 } from './1764190000000-billing-journal.js';
import { BillingUsage1764190001000 } from './1764190001000-billing-usage.js';
import { FinanceViews1764190002000 } from './1764190002000-finance-views.js';
import { InboxKeyedByTopic1764195000000 } from './1764195000000-inbox-keyed-by-topic.js';
import { Dispatch1764200000000 } from './1764200000000-dispatch.js';
import { Invoices1764210000000 } from './1764210000000-invoices.js';
import { JournalChecksPerTransaction1764220000000 } from './1764220000000-journal-checks-per-transaction.js';
import { Access1764230000000 } from './1764230000000-access.js';
import { JobBaselines1764240000000 } from './1764240000000-job-baselines.js';
import { BalancesInOrder1764250000000 } from './1764250000000-balances-in-order.js';
import { JournalReferencesPerStatement1764260000000 } from './1764260000000-journal-references-per-statement.js';
import { InvoiceEntriesPerStatement1764270000000 } from './1764270000000-invoice-entries-per-statement.js';
import { InvoiceAtPosting1764280000000 } from './1764280000000-invoice-at-posting.js';
import { JournalReferencesOnTransactions1764290000000 } from './1764290000000-journal-references-on-transactions.js';
import { UsageSubLedger1764300000000 } from './1764300000000-usage-sub-ledger.js';
import { MarketHotUpdates1764310000000 } from './1764310000000-market-hot-updates.js';

/** Every migration, in order. Listed, not globbed: what runs is what the build compiled. */
export const migrations = [
  Schemas1764150000000,
  MarketSpotPriceTicks1764150001000,
  MarketIngest1764160000000,
  GatewayMarketViews1764170000000,
  MatchingBook1764180000000,
  GatewayJobs1764180001000,
  BillingJournal1764190000000,
  BillingUsage1764190001000,
  FinanceViews1764190002000,
  InboxKeyedByTopic1764195000000,
  Dispatch1764200000000,
  Invoices1764210000000,
  JournalChecksPerTransaction1764220000000,
  Access1764230000000,
  JobBaselines1764240000000,
  BalancesInOrder1764250000000,
  JournalReferencesPerStatement1764260000000,
  InvoiceEntriesPerStatement1764270000000,
  InvoiceAtPosting1764280000000,
  JournalReferencesOnTransactions1764290000000,
  UsageSubLedger1764300000000,
  MarketHotUpdates1764310000000,
];

export { allEntities } from './entities.js';
export { runMigrations, checkDrift, ensureDatabase } from './migrator.js';
