import { Controller, Get, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { identifier } from '#contracts';
import { AppSchema } from '#persistence';
import { formatAtomic, USD_SCALE } from '#pricing';
import { Access, CurrentPrincipal, Doc, parseRequest, type Principal } from '#runtime';
import { tenantFilter } from '../access/tenancy.js';
import { savingsView, type JobRow, type RunAllocation } from './job.view.js';

const G = AppSchema.Gateway;
/** Most completed jobs one answer adds up; narrow the period for more. */
const MAX_JOBS = 10_000;
const savingsQuery = z
  .object({
    customer: identifier.optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    jobs: z.coerce.number().int().min(0).max(500).default(50).describe('How many of the latest completed jobs to list'),
  })
  .strict();

type Row = Pick<JobRow, 'job_id' | 'customer_id' | 'instrument' | 'baseline_first_listed_nano_usd' | 'baseline_cheapest_compute_nano_usd' | 'updated_at'> & { allocations: RunAllocation[] };
const usd = (nano: bigint) => formatAtomic(nano, USD_SCALE);

/**
 * What the market saved: for each completed job, what it paid against the two naive choices at
 * its submission, and the totals per customer. A customer sees its own; finance and admin anyone's.
 */
@Controller('v1/savings')
export class SavingsController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  @Access.roles('customer', 'finance', 'admin')
  @Doc({
    tag: 'jobs',
    summary: 'What completed jobs paid against the first-listed and the cheapest-ignoring-energy offer, with totals per customer',
    query: savingsQuery,
    responseExample: {
      totals: [
        {
          customerId: 'acme',
          jobs: 42,
          paidNanoUsd: '81200000000',
          paid: '81.2',
          savedVsFirstListedNanoUsd: '6430000000',
          savedVsFirstListed: '6.43',
          savedVsCheapestIgnoringEnergyNanoUsd: '2110000000',
          savedVsCheapestIgnoringEnergy: '2.11',
        },
      ],
      jobs: [
        {
          id: '0b5f2d8e-3c1a-4e7b-9a6d-2f8c0e1b3a5d',
          customerId: 'acme',
          instrument: 'gpu:h100',
          completedAt: '2026-11-27T10:30:01.200Z',
          savings: {
            paidNanoUsd: '8592000000',
            paid: '8.592',
            firstListed: { unitPriceNanoUsd: '2400000000', costNanoUsd: '9600000000', savedNanoUsd: '1008000000', saved: '1.008' },
            cheapestIgnoringEnergy: { unitPriceNanoUsd: '2190000000', costNanoUsd: '8760000000', savedNanoUsd: '168000000', saved: '0.168' },
          },
        },
      ],
    },
    errors: { 404: 'A customer named another customer.' },
  })
  async savings(@Query() raw: unknown, @CurrentPrincipal() who: Principal) {
    const q = parseRequest(savingsQuery, raw, 'query');
    const customer = tenantFilter(who, q.customer, 'customer');
    const rows: Row[] = await this.dataSource.query(
      `SELECT j.job_id, j.customer_id, j.instrument, j.baseline_first_listed_nano_usd::text AS baseline_first_listed_nano_usd,
              j.baseline_cheapest_compute_nano_usd::text AS baseline_cheapest_compute_nano_usd, j.updated_at,
              COALESCE((SELECT json_agg(json_build_object('quantity_micro', m.quantity_micro::text, 'effective_nano_usd', m.effective_nano_usd::text,
                                                          'remainder_micro', d.remainder_micro::text))
                          FROM "${G}".matching_allocations m LEFT JOIN "${G}".dispatch_allocations d USING (allocation_id)
                         WHERE m.job_id = j.job_id), '[]') AS allocations
         FROM "${G}".jobs j
        WHERE j.status = 'completed' AND ($1::text IS NULL OR j.customer_id = $1)
          AND ($2::timestamptz IS NULL OR j.created_at >= $2) AND ($3::timestamptz IS NULL OR j.created_at < $3)
        ORDER BY j.updated_at DESC, j.job_id LIMIT ${MAX_JOBS}`,
      [customer ?? null, q.from ?? null, q.to ?? null],
    );
    const totals = new Map<string, { jobs: number; paid: bigint; first: bigint; cheapest: bigint }>();
    const jobs = rows.map((r) => {
      const s = savingsView(r, r.allocations);
      const t = totals.get(r.customer_id) ?? { jobs: 0, paid: 0n, first: 0n, cheapest: 0n };
      t.jobs += 1;
      t.paid += BigInt(s.paidNanoUsd);
      // A job with no baseline (no live eligible ask when it was submitted) saved nothing against it.
      t.first += BigInt(s.firstListed?.savedNanoUsd ?? '0');
      t.cheapest += BigInt(s.cheapestIgnoringEnergy?.savedNanoUsd ?? '0');
      totals.set(r.customer_id, t);
      return { id: r.job_id, customerId: r.customer_id, instrument: r.instrument, completedAt: r.updated_at.toISOString(), savings: s };
    });
    return {
      totals: [...totals.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([customerId, t]) => ({
          customerId,
          jobs: t.jobs,
          paidNanoUsd: t.paid.toString(),
          paid: usd(t.paid),
          savedVsFirstListedNanoUsd: t.first.toString(),
          savedVsFirstListed: usd(t.first),
          savedVsCheapestIgnoringEnergyNanoUsd: t.cheapest.toString(),
          savedVsCheapestIgnoringEnergy: usd(t.cheapest),
        })),
      jobs: jobs.slice(0, q.jobs),
    };
  }
}
