import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * roll_import_runs: per import, the runs that started and have not ended. A run adds one as it starts and takes it
 * back when it ends in a live process; a run whose worker died (out of memory on a malformed file, killed) leaves it
 * counted, and the start after two such runs fails the import instead of running it again.
 *
 * A table of its own, without a foreign key: a first import's merge that stopped between its two commits leaves a
 * prepared XA branch holding the import's row until the next run has recovered it, and the count is written before.
 */
export class CountImportRuns1764820000000 implements MigrationInterface {
  name = 'CountImportRuns1764820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE roll_import_runs (
      import_id BIGINT UNSIGNED NOT NULL,
      unfinished TINYINT UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (import_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE roll_import_runs');
  }
}
