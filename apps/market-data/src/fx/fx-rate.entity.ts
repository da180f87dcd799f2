import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import { AppSchema, numericColumn } from '#persistence';

/** FX history: one unit of `base` costs `rate` units of `quote` from `asOf`. */
@Entity({ schema: AppSchema.Market, name: 'fx_rates' })
@Check('fx_rates_positive_check', 'rate > 0')
export class FxRateEntity {
  @PrimaryColumn({ type: 'char', length: 3 })
  base!: string;

  @PrimaryColumn({ type: 'char', length: 3 })
  quote!: string;

  @PrimaryColumn({ name: 'as_of', type: 'timestamptz' })
  asOf!: Date;

  @Column({ type: 'numeric', transformer: numericColumn })
  rate!: string;
}
