import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * When and where a batch's cash payments of one commune are handed over at its pay point: date, place, hours and the
 * papers to bring, which the recipients are told by SMS (paypoint_scheduled). Every change is a new revision, never an
 * update: a message tells the revision it was created for, and a recipient told one place and date is told the
 * changed ones with a message of its own.
 */
export class CreatePaypointSchedules1764930000000 implements MigrationInterface {
  name = 'CreatePaypointSchedules1764930000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE paypoint_schedules (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      batch_id BIGINT UNSIGNED NOT NULL,
      area_id INT UNSIGNED NOT NULL,
      revision INT UNSIGNED NOT NULL,
      handover_date DATE NOT NULL,
      place VARCHAR(120) NOT NULL,
      hours VARCHAR(40) NOT NULL,
      papers VARCHAR(120) NOT NULL,
      created_by INT UNSIGNED NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_paypoint_schedules_revision (batch_id, area_id, revision),
      CONSTRAINT fk_paypoint_schedules_batch FOREIGN KEY (batch_id) REFERENCES batches (id),
      CONSTRAINT fk_paypoint_schedules_area FOREIGN KEY (area_id) REFERENCES areas (id)
    ) ${TABLE}`);
    // the schedule revision a paypoint_scheduled message tells; NULL for every other event. Added alone: instant on
    // MariaDB 10.11 and MySQL 8.
    await q.query('ALTER TABLE notification_messages ADD COLUMN schedule_id BIGINT UNSIGNED NULL AFTER payment_seq');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE notification_messages DROP COLUMN schedule_id');
    await q.query('DROP TABLE IF EXISTS paypoint_schedules');
  }
}
