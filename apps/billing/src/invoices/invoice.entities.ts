import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { AppSchema, bigintColumn } from '#persistence';

/** A customer's invoice for one calendar month (UTC): a draft until its grace period ends, then final. */
@Entity({ schema: AppSchema.Billing, name: 'invoices' })
@Unique('invoices_customer_period_unique', ['customerId', 'period'])
@Check('invoices_status_check', `status IN ('draft', 'final')`)
@Check('invoices_period_check', `extract(day FROM period) = 1`)
export class InvoiceEntity {
  @PrimaryColumn({ name: 'invoice_id', type: 'text' })
  invoiceId!: string;

  @Column({ name: 'customer_id', type: 'text' })
  customerId!: string;

  /** The first day of the month invoiced. */
  @Column({ type: 'date' })
  period!: string;

  @Column({ type: 'text', default: 'draft' })
  status!: 'draft' | 'final';

  @Column({ name: 'total_minor', type: 'bigint', nullable: true, transformer: bigintColumn })
  totalMinor!: bigint | null;

  @Column({ name: 'exact_nano_usd', type: 'bigint', nullable: true, transformer: bigintColumn })
  exactNanoUsd!: bigint | null;

  @Column({ name: 'rounding_nano_usd', type: 'bigint', nullable: true, transformer: bigintColumn })
  roundingNanoUsd!: bigint | null;

  @Column({ name: 'finalized_at', type: 'timestamptz', nullable: true })
  finalizedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

/** A final invoice's lines, as the customer was sent them. */
@Entity({ schema: AppSchema.Billing, name: 'invoice_lines' })
export class InvoiceLineEntity {
  @ManyToOne(() => InvoiceEntity)
  @JoinColumn({ name: 'invoice_id', referencedColumnName: 'invoiceId', foreignKeyConstraintName: 'FK_billing_invoice_lines_invoice' })
  invoice?: InvoiceEntity;

  @PrimaryColumn({ name: 'invoice_id', type: 'text' })
  invoiceId!: string;

  @PrimaryColumn({ name: 'line_no', type: 'integer' })
  lineNo!: number;

  @Column({ name: 'job_id', type: 'text', nullable: true })
  jobId!: string | null;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ name: 'usage_period', type: 'date' })
  usagePeriod!: string;

  @Column({ name: 'prior_period', type: 'boolean' })
  priorPeriod!: boolean;

  @Column({ type: 'text' })
  description!: string;

  @Column({ name: 'amount_nano_usd', type: 'bigint', transformer: bigintColumn })
  amountNanoUsd!: bigint;

  @Column({ name: 'amount_minor', type: 'bigint', transformer: bigintColumn })
  amountMinor!: bigint;
}
