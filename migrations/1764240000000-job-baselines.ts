import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each job is measured against (issue 8's savings): the unit prices, at submission, of the
 * first-listed eligible offer and of the cheapest eligible offer on compute alone (each at its
 * effective price). Null for jobs stored before this, or when no eligible ask was live.
 */
export class JobBaselines1764240000000 implements MigrationInterface {
  name = 'JobBaselines1764240000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gateway.jobs ADD COLUMN baseline_first_listed_nano_usd bigint, ADD COLUMN baseline_cheapest_compute_nano_usd bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gateway.jobs DROP COLUMN baseline_first_listed_nano_usd, DROP COLUMN baseline_cheapest_compute_nano_usd`);
  }
}
