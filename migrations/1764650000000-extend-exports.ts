import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Export manifests: totals per category (JSON), and a heartbeat with the rows
 * written so far while an export is generated, so that an export whose
 * process died is reported as interrupted instead of running for ever.
 */
export class ExtendExports1764650000000 implements MigrationInterface {
  name = 'ExtendExports1764650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exports
      ADD COLUMN totals JSON NULL AFTER total_amount,
      ADD COLUMN progress_rows INT UNSIGNED NOT NULL DEFAULT 0 AFTER status,
      ADD COLUMN heartbeat_at DATETIME(3) NULL AFTER progress_rows`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exports DROP COLUMN heartbeat_at, DROP COLUMN progress_rows, DROP COLUMN totals');
  }
}
