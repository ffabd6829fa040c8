import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An import's problems filtered by code are read in row order from this index, not by scanning the whole import. */
export class IndexProblemCode1764860000000 implements MigrationInterface {
  name = 'IndexProblemCode1764860000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX ix_problems_import_code ON roll_import_problems (import_id, code, row_no, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_problems_import_code ON roll_import_problems');
  }
}
