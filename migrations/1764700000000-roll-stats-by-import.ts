import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The roll's optimizer statistics are refreshed by the import that changed the roll (ANALYZE TABLE after its merge,
 * RollImportRunner.run), not by InnoDB's background statistics task.
 *
 * Why: MariaDB's statistics task re-queues a table whose statistics were recalculated less than 10 s ago and runs
 * again at once, so while a large insert keeps crossing the 10%-changed threshold (a first import's million people
 * and enrolments) it spins at most of a core for the whole merge: measured, a third busy server thread beside the two
 * inserts, the merge 12.7-13.3 s instead of about 8. MySQL accepts the same table option.
 */
export class RollStatsByImport1764700000000 implements MigrationInterface {
  name = 'RollStatsByImport1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE beneficiaries STATS_AUTO_RECALC = 0');
    await q.query('ALTER TABLE enrolments STATS_AUTO_RECALC = 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE beneficiaries STATS_AUTO_RECALC = DEFAULT');
    await q.query('ALTER TABLE enrolments STATS_AUTO_RECALC = DEFAULT');
  }
}
