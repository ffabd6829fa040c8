import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** Areas (tree), users, and the hash-chained audit trail. */
export class CreateFoundation1764000000000 implements MigrationInterface {
  name = 'CreateFoundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE areas (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      code VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      name VARCHAR(200) NOT NULL,
      level VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      parent_id INT UNSIGNED NULL,
      path VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      depth TINYINT UNSIGNED NOT NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_areas_code (code),
      KEY ix_areas_parent (parent_id),
      KEY ix_areas_path (path),
      CONSTRAINT fk_areas_parent FOREIGN KEY (parent_id) REFERENCES areas (id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE users (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      username VARCHAR(64) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
      display_name VARCHAR(200) NOT NULL,
      password_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      roles SET('admin','staff','approver','auditor') NOT NULL,
      area_id INT UNSIGNED NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      disabled_reason VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
      must_change_password TINYINT(1) NOT NULL DEFAULT 1,
      password_changed_at DATETIME(3) NULL,
      failed_logins INT UNSIGNED NOT NULL DEFAULT 0,
      locked_at DATETIME(3) NULL,
      totp_secret VARBINARY(255) NULL,
      totp_enabled TINYINT(1) NOT NULL DEFAULT 0,
      totp_last_step BIGINT NULL,
      last_login_at DATETIME(3) NULL,
      last_active_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      created_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_users_username (username),
      KEY ix_users_area (area_id),
      KEY ix_users_last_active (active, last_active_at),
      CONSTRAINT fk_users_area FOREIGN KEY (area_id) REFERENCES areas (id)
    ) ${TABLE}`);

    // id is assigned from audit_chain_head under its row lock: a gapless sequence whose every row hashes its predecessor.
    await q.query(`CREATE TABLE audit_events (
      id BIGINT UNSIGNED NOT NULL,
      occurred_at DATETIME(3) NOT NULL,
      actor_user_id INT UNSIGNED NULL,
      actor_username VARCHAR(64) NOT NULL,
      actor_roles VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      action VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      entity_type VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      entity_id VARCHAR(64) NULL,
      area_id INT UNSIGNED NULL,
      request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
      source VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
      summary MEDIUMTEXT NOT NULL,
      prev_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      PRIMARY KEY (id),
      KEY ix_audit_time (occurred_at),
      KEY ix_audit_actor (actor_user_id, id),
      KEY ix_audit_entity (entity_type, entity_id, id),
      KEY ix_audit_action (action, id),
      KEY ix_audit_area (area_id, id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE audit_chain_head (
      id TINYINT UNSIGNED NOT NULL,
      last_id BIGINT UNSIGNED NOT NULL,
      last_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      PRIMARY KEY (id)
    ) ${TABLE}`);
    await q.query(`INSERT INTO audit_chain_head (id, last_id, last_hash) VALUES (1, 0, REPEAT('0', 64))`);

    // Append-only: the application never updates or deletes events; the hash chain detects anyone who does.
    await q.query(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only'`);
    await q.query(`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER IF EXISTS audit_events_no_delete');
    await q.query('DROP TRIGGER IF EXISTS audit_events_no_update');
    await q.query('DROP TABLE audit_chain_head');
    await q.query('DROP TABLE audit_events');
    await q.query('DROP TABLE users');
    await q.query('DROP TABLE areas');
  }
}
