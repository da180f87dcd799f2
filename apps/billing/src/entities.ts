import {
  AccountEntity,
  AssetEntity,
  BillingAllocationEntity,
  BalanceEntity,
  EntryEntity,
  HoldEntity,
  PendingUsageEntity,
  PostingConflictEntity,
  TransactionEntity,
  UsagePostingEntity,
} from './journal/journal.entities.js';
import { InvoiceEntity, InvoiceLineEntity } from './invoices/invoice.entities.js';

/** The tables billing owns beyond its inbox and outbox. */
export const billingEntities = [
  AssetEntity,
  AccountEntity,
  TransactionEntity,
  EntryEntity,
  UsagePostingEntity,
  BalanceEntity,
  HoldEntity,
  PostingConflictEntity,
  BillingAllocationEntity,
  PendingUsageEntity,
  InvoiceEntity,
  InvoiceLineEntity,
];
