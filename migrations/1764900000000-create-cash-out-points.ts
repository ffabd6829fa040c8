import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * The withdrawal network: the places where a recipient turns a transfer into cash (ATMs, bank branches and agents,
 * post offices, Mobile Money agents), and the imports of registry files with their row problems.
 */
export class CreateCashOutPoints1764900000000 implements MigrationInterface {
  name = 'CreateCashOutPoints1764900000000';

  async up(q: QueryRunner): Promise<void> {
    // operator_type + operator_code name the operator in one pair whatever its kind (a bank BIN, a wallet provider
    // code, the postal operator): one natural key and one lookup index serve all three. The kind decides the type.
    await q.query(`CREATE TABLE cash_out_points (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      kind VARCHAR(20) ${ASCII} NOT NULL,
      operator_type VARCHAR(8) ${ASCII} NOT NULL,
      operator_code VARCHAR(20) ${ASCII} NOT NULL,
      point_code VARCHAR(40) ${ASCII} NOT NULL,
      name VARCHAR(200) NOT NULL,
      area_id INT UNSIGNED NOT NULL,
      address VARCHAR(300) NOT NULL,
      latitude DECIMAL(8,6) NULL,
      longitude DECIMAL(9,6) NULL,
      opening_hours VARCHAR(120) NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      import_id BIGINT UNSIGNED NULL,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_cash_out_point (operator_type, operator_code, point_code),
      KEY ix_cash_out_points_lookup (operator_type, operator_code, area_id, active),
      KEY ix_cash_out_points_area (area_id, id),
      CONSTRAINT fk_cash_out_points_area FOREIGN KEY (area_id) REFERENCES areas (id),
      CONSTRAINT ck_cash_out_points_kind CHECK (
        (kind IN ('atm', 'bank_branch', 'bank_agent') AND operator_type = 'bank')
        OR (kind = 'mobile_money_agent' AND operator_type = 'wallet')
        OR (kind = 'post_office' AND operator_type = 'post')),
      CONSTRAINT ck_cash_out_points_position CHECK ((latitude IS NULL) = (longitude IS NULL)
        AND (latitude IS NULL OR latitude BETWEEN -90 AND 90) AND (longitude IS NULL OR longitude BETWEEN -180 AND 180))
    ) ${TABLE}`);

    await q.query(`CREATE TABLE cash_out_point_imports (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      file_name VARCHAR(255) NOT NULL,
      format VARCHAR(8) ${ASCII} NOT NULL,
      file_sha256 CHAR(64) ${ASCII} NOT NULL,
      file_size BIGINT UNSIGNED NOT NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      rows_read INT UNSIGNED NOT NULL DEFAULT 0,
      rows_valid INT UNSIGNED NOT NULL DEFAULT 0,
      rows_invalid INT UNSIGNED NOT NULL DEFAULT 0,
      points_created INT UNSIGNED NOT NULL DEFAULT 0,
      points_updated INT UNSIGNED NOT NULL DEFAULT 0,
      points_unchanged INT UNSIGNED NOT NULL DEFAULT 0,
      error_code VARCHAR(64) ${ASCII} NULL,
      error_message VARCHAR(1000) NULL,
      uploaded_by INT UNSIGNED NOT NULL,
      scope_area_id INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_cash_out_point_imports_scope (scope_area_id, id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE cash_out_point_import_problems (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      import_id BIGINT UNSIGNED NOT NULL,
      row_no INT UNSIGNED NOT NULL,
      column_name VARCHAR(64) NULL,
      code VARCHAR(40) ${ASCII} NOT NULL,
      message VARCHAR(500) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_cash_out_point_problems (import_id, row_no, id),
      CONSTRAINT fk_cash_out_point_problems_import FOREIGN KEY (import_id) REFERENCES cash_out_point_imports (id) ON DELETE CASCADE
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS cash_out_point_import_problems');
    await q.query('DROP TABLE IF EXISTS cash_out_point_imports');
    await q.query('DROP TABLE IF EXISTS cash_out_points');
  }
}
