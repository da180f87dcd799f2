import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { AppSchema, bigintColumn } from '#persistence';

/** Assets and their fixed atomic scale (USD: 9, nano-USD). */
@Entity({ schema: AppSchema.Billing, name: 'assets' })
@Check('assets_scale_check', 'scale BETWEEN 0 AND 18')
export class AssetEntity {
  @PrimaryColumn({ type: 'text' })
  code!: string;

  @Column({ type: 'smallint' })
  scale!: number;
}

@Entity({ schema: AppSchema.Billing, name: 'accounts' })
@Check('accounts_kind_check', `kind IN ('customer', 'provider', 'platform')`)
@Check('accounts_credit_limit_check', 'credit_limit >= 0')
export class AccountEntity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ name: 'owner_id', type: 'text', nullable: true })
  ownerId!: string | null;

  @ManyToOne(() => AssetEntity)
  @JoinColumn({ name: 'asset', referencedColumnName: 'code', foreignKeyConstraintName: 'FK_billing_accounts_asset' })
  assetRef?: AssetEntity;

  @Column({ type: 'text' })
  asset!: string;

  @Column({ name: 'credit_limit', type: 'bigint', default: 0, transformer: bigintColumn })
  creditLimit!: bigint;

  /** What open holds keep (amount − captured), maintained by a trigger on holds. */
  @Column({ type: 'bigint', default: 0, transformer: bigintColumn })
  held!: bigint;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

/** The reference columns say exactly what `refs` says (JournalReferencesOnTransactions1764290000000). */
const TRANSACTION_REFS_CHECK = `customer_id IS NOT DISTINCT FROM refs->>'customerId' AND provider_id IS NOT DISTINCT FROM refs->>'providerId' AND job_id IS NOT DISTINCT FROM refs->>'jobId'`;

/**
 * One journal transaction: unique by its idempotency key, with the hash of what created it. A
 * charge (usage or its reversal) names the invoice it is on, decided when it is posted
 * (InvoiceAtPosting1764280000000); the entries trigger checks the invoice, not a foreign key.
 */
@Entity({ schema: AppSchema.Billing, name: 'transactions' })
@Unique('transactions_idempotency_key_unique', ['idempotencyKey'])
@Index('transactions_invoice_idx', ['invoiceId'], { where: 'invoice_id IS NOT NULL' })
@Unique('transactions_reverses_unique', ['reverses'])
@Check('transactions_kind_check', `kind IN ('usage', 'top-up', 'grant', 'reversal', 'invoice-rounding')`)
@Check('transactions_refs_columns_check', TRANSACTION_REFS_CHECK)
@Index('transactions_customer_idx', ['customerId', 'postedAt'])
@Index('transactions_provider_idx', ['providerId', 'postedAt'])
@Index('transactions_job_idx', ['jobId'])
export class TransactionEntity {
  @PrimaryGeneratedColumn({ name: 'tx_id', type: 'bigint' })
  txId!: string;

  @Column({ name: 'idempotency_key', type: 'text' })
  idempotencyKey!: string;

  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ type: 'text' })
  kind!: string;

  @ManyToOne(() => TransactionEntity)
  @JoinColumn({ name: 'reverses', referencedColumnName: 'txId', foreignKeyConstraintName: 'FK_billing_transactions_reverses' })
  reversed?: TransactionEntity;

  @Column({ type: 'bigint', nullable: true })
  reverses!: string | null;

  @Column({ type: 'jsonb' })
  refs!: unknown;

  @Column({ name: 'invoice_id', type: 'text', nullable: true })
  invoiceId!: string | null;

  /** `refs.customerId`, `refs.providerId` and `refs.jobId` as columns: finance filters the journal (every entry) by them. */
  @Column({ name: 'customer_id', type: 'text', nullable: true })
  customerId!: string | null;

  @Column({ name: 'provider_id', type: 'text', nullable: true })
  providerId!: string | null;

  @Column({ name: 'job_id', type: 'text', nullable: true })
  jobId!: string | null;

  @Column({ name: 'posted_at', type: 'timestamptz', default: () => 'now()' })
  postedAt!: Date;
}

/**
 * One signed line of a transaction (positive debit, negative credit), in atomic units. Its
 * transaction, account and asset are checked once per statement by a trigger, not by foreign keys
 * row by row (migration JournalReferencesPerStatement1764260000000). Its customer, provider, job,
 * allocation and usage are its transaction's (JournalReferencesOnTransactions1764290000000).
 */
@Entity({ schema: AppSchema.Billing, name: 'entries' })
@Index('entries_tx_idx', ['txId'])
@Index('entries_account_idx', ['accountId', 'entryId'])
export class EntryEntity {
  @PrimaryGeneratedColumn({ name: 'entry_id', type: 'bigint' })
  entryId!: string;

  @ManyToOne(() => TransactionEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'tx_id', referencedColumnName: 'txId' })
  tx?: TransactionEntity;

  @Column({ name: 'tx_id', type: 'bigint' })
  txId!: string;

  @ManyToOne(() => AccountEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'account_id', referencedColumnName: 'accountId' })
  account?: AccountEntity;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  @ManyToOne(() => AssetEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'asset', referencedColumnName: 'code' })
  assetRef?: AssetEntity;

  @Column({ type: 'text' })
  asset!: string;

  @Column({ type: 'bigint', transformer: bigintColumn })
  amount!: bigint;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ name: 'posted_at', type: 'timestamptz', default: () => 'now()' })
  postedAt!: Date;
}

/**
 * The usage sub-ledger: one row per usage event posted, in the journal transaction that posted it
 * with the rest of its allocation's batch (UsageSubLedger1764300000000). The usage id is the
 * dedupe key; with the transaction's references, the amounts are the event's whole posting, which
 * a redelivery must match or be a conflict. Append-only; a statement trigger checks that the rows join a usage transaction written
 * with them and sum, per kind, to its customer lines.
 */
@Entity({ schema: AppSchema.Billing, name: 'usage_postings' })
@Index('usage_postings_tx_idx', ['txId'])
export class UsagePostingEntity {
  @PrimaryColumn({ name: 'usage_id', type: 'text', primaryKeyConstraintName: 'PK_billing_usage_postings' })
  usageId!: string;

  @ManyToOne(() => TransactionEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'tx_id', referencedColumnName: 'txId' })
  tx?: TransactionEntity;

  @Column({ name: 'tx_id', type: 'bigint' })
  txId!: string;

  @Column({ name: 'compute_nano_usd', type: 'bigint', transformer: bigintColumn })
  computeNanoUsd!: bigint;

  @Column({ name: 'energy_nano_usd', type: 'bigint', transformer: bigintColumn })
  energyNanoUsd!: bigint;

  @Column({ name: 'fee_nano_usd', type: 'bigint', transformer: bigintColumn })
  feeNanoUsd!: bigint;
}

/** Each account's balance per asset, moved by the trigger that sees the entries inserted. */
@Entity({ schema: AppSchema.Billing, name: 'balances' })
export class BalanceEntity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @PrimaryColumn({ type: 'text' })
  asset!: string;

  @Column({ type: 'bigint', transformer: bigintColumn })
  balance!: bigint;
}

/** A reservation of a job's worst case on a customer's available balance. */
@Entity({ schema: AppSchema.Billing, name: 'holds' })
@Unique('holds_allocation_unique', ['allocationId'])
@Index('holds_customer_status_idx', ['customerId', 'status'])
@Index('holds_job_idx', ['jobId'])
@Check('holds_amount_check', 'amount >= 0')
@Check('holds_status_check', `status IN ('open', 'settled', 'voided', 'expired')`)
export class HoldEntity {
  @PrimaryColumn({ name: 'hold_id', type: 'text' })
  holdId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ name: 'job_id', type: 'text', nullable: true })
  jobId!: string | null;

  @Column({ name: 'allocation_id', type: 'text', nullable: true })
  allocationId!: string | null;

  @Column({ type: 'bigint', transformer: bigintColumn })
  amount!: bigint;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'bigint', default: 0, transformer: bigintColumn })
  captured!: bigint;

  @ManyToOne(() => TransactionEntity)
  @JoinColumn({ name: 'settled_by', referencedColumnName: 'txId', foreignKeyConstraintName: 'FK_billing_holds_settled_by' })
  settledByTx?: TransactionEntity;

  @Column({ name: 'settled_by', type: 'bigint', nullable: true })
  settledBy!: string | null;

  @Column({ name: 'placed_at', type: 'timestamptz', default: () => 'now()' })
  placedAt!: Date;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt!: Date | null;
}

/** The same idempotency key with a different body: kept for review, never posted. */
@Entity({ schema: AppSchema.Billing, name: 'posting_conflicts' })
export class PostingConflictEntity {
  @PrimaryGeneratedColumn({ name: 'conflict_id', type: 'bigint' })
  conflictId!: string;

  @Column({ name: 'idempotency_key', type: 'text' })
  idempotencyKey!: string;

  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ name: 'existing_hash', type: 'text' })
  existingHash!: string;

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}

/** An allocation as billing keeps it: the unit prices its usage is charged at. */
@Entity({ schema: AppSchema.Billing, name: 'allocations' })
@Index('allocations_job_idx', ['jobId'])
export class BillingAllocationEntity {
  @PrimaryColumn({ name: 'allocation_id', type: 'text' })
  allocationId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId!: string;

  @Column({ name: 'offer_id', type: 'text' })
  offerId!: string;

  @Column({ type: 'text' })
  instrument!: string;

  @Column({ name: 'quantity_micro', type: 'bigint', transformer: bigintColumn })
  quantityMicro!: bigint;

  @Column({ name: 'compute_nano_usd', type: 'bigint', transformer: bigintColumn })
  computeNanoUsd!: bigint;

  @Column({ name: 'energy_nano_usd', type: 'bigint', transformer: bigintColumn })
  energyNanoUsd!: bigint;

  @Column({ name: 'effective_nano_usd', type: 'bigint', transformer: bigintColumn })
  effectiveNanoUsd!: bigint;

  @Column({ name: 'amount_nano_usd', type: 'bigint', transformer: bigintColumn })
  amountNanoUsd!: bigint;

  @Column({ name: 'fee_nano_usd', type: 'bigint', transformer: bigintColumn })
  feeNanoUsd!: bigint;

  @Column({ name: 'matched_at', type: 'timestamptz' })
  matchedAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;
}

/** Usage that arrived before its allocation: posted when the allocation arrives. */
@Entity({ schema: AppSchema.Billing, name: 'pending_usage' })
@Index('pending_usage_allocation_idx', ['allocationId'])
export class PendingUsageEntity {
  @PrimaryColumn({ name: 'usage_id', type: 'text' })
  usageId!: string;

  @Column({ name: 'allocation_id', type: 'text' })
  allocationId!: string;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt!: Date;
}
