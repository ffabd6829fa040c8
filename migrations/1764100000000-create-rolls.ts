import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Beneficiary rolls: reference data (banks, wallet providers), programmes with
 * effective-dated base levels, beneficiaries (personal data encrypted, with
 * keyed hashes for lookup), enrolments with their payment channel and history,
 * and roll imports with their staging rows and problems.
 *
 * Periods are INT yyyymm (202412); money is BIGINT đồng; coefficients are
 * hundredths (150 = 1.5).
 */
export class CreateRolls1764100000000 implements MigrationInterface {
  name = 'CreateRolls1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE banks (
      bin CHAR(6) ${ASCII} NOT NULL,
      short_name VARCHAR(40) NOT NULL,
      name VARCHAR(200) NOT NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (bin)
    ) ${TABLE}`);
    await q.query(`INSERT INTO banks (bin, short_name, name) VALUES
      ('970436', 'Vietcombank', 'Ngân hàng TMCP Ngoại thương Việt Nam'),
      ('970415', 'VietinBank', 'Ngân hàng TMCP Công thương Việt Nam'),
      ('970418', 'BIDV', 'Ngân hàng TMCP Đầu tư và Phát triển Việt Nam'),
      ('970405', 'Agribank', 'Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam'),
      ('970422', 'MB', 'Ngân hàng TMCP Quân đội'),
      ('970416', 'ACB', 'Ngân hàng TMCP Á Châu'),
      ('970407', 'Techcombank', 'Ngân hàng TMCP Kỹ thương Việt Nam')`);

    await q.query(`CREATE TABLE wallet_providers (
      code VARCHAR(20) ${ASCII} NOT NULL,
      name VARCHAR(200) NOT NULL,
      kind VARCHAR(16) ${ASCII} NOT NULL,
      monthly_cap BIGINT NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (code)
    ) ${TABLE}`);
    // Mobile Money is capped at 10 million đồng per account per month
    await q.query(`INSERT INTO wallet_providers (code, name, kind, monthly_cap) VALUES
      ('VIETTELMONEY', 'Viettel Money', 'mobile_money', 10000000),
      ('VNPTMONEY', 'VNPT Money', 'mobile_money', 10000000),
      ('MOBIFONEMONEY', 'MobiFone Money', 'mobile_money', 10000000),
      ('MOMO', 'MoMo', 'ewallet', NULL),
      ('ZALOPAY', 'ZaloPay', 'ewallet', NULL)`);

    await q.query(`CREATE TABLE programmes (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      code VARCHAR(32) ${ASCII} NOT NULL,
      name VARCHAR(300) NOT NULL,
      frequency VARCHAR(16) ${ASCII} NOT NULL,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_programmes_code (code)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE programme_base_levels (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      programme_id INT UNSIGNED NOT NULL,
      effective_from INT UNSIGNED NOT NULL,
      amount BIGINT NOT NULL,
      reason VARCHAR(500) NULL,
      created_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_base_level (programme_id, effective_from),
      CONSTRAINT fk_base_level_programme FOREIGN KEY (programme_id) REFERENCES programmes (id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE beneficiaries (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      national_id_hash BINARY(32) NOT NULL,
      national_id_enc VARBINARY(128) NOT NULL,
      national_id_masked CHAR(12) ${ASCII} NOT NULL,
      full_name VARCHAR(100) NOT NULL,
      name_search VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      given_search VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      date_of_birth DATE NOT NULL,
      gender CHAR(1) ${ASCII} NOT NULL,
      phone_hash BINARY(32) NULL,
      phone_enc VARBINARY(128) NULL,
      phone_masked CHAR(10) ${ASCII} NULL,
      area_id INT UNSIGNED NOT NULL,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      import_id BIGINT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_beneficiaries_nid (national_id_hash),
      KEY ix_beneficiaries_name (name_search),
      KEY ix_beneficiaries_given (given_search),
      KEY ix_beneficiaries_area (area_id, id),
      CONSTRAINT fk_beneficiaries_area FOREIGN KEY (area_id) REFERENCES areas (id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE enrolments (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      programme_id INT UNSIGNED NOT NULL,
      coefficient_x100 SMALLINT UNSIGNED NOT NULL,
      start_period INT UNSIGNED NOT NULL,
      end_period INT UNSIGNED NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      status_reason VARCHAR(500) NULL,
      channel VARCHAR(8) ${ASCII} NOT NULL,
      bank_bin CHAR(6) ${ASCII} NULL,
      account_hash BINARY(32) NULL,
      account_enc VARBINARY(128) NULL,
      account_masked VARCHAR(19) ${ASCII} NULL,
      account_name VARCHAR(100) NULL,
      wallet_provider VARCHAR(20) ${ASCII} NULL,
      wallet_hash BINARY(32) NULL,
      wallet_enc VARBINARY(128) NULL,
      wallet_masked VARCHAR(19) ${ASCII} NULL,
      name_mismatch TINYINT(1) NOT NULL DEFAULT 0,
      version INT UNSIGNED NOT NULL DEFAULT 1,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      import_id BIGINT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_enrolment (beneficiary_id, programme_id),
      KEY ix_enrolments_programme (programme_id, status, beneficiary_id),
      KEY ix_enrolments_account (account_hash),
      KEY ix_enrolments_wallet (wallet_hash),
      CONSTRAINT fk_enrolments_beneficiary FOREIGN KEY (beneficiary_id) REFERENCES beneficiaries (id),
      CONSTRAINT fk_enrolments_programme FOREIGN KEY (programme_id) REFERENCES programmes (id),
      CONSTRAINT fk_enrolments_bank FOREIGN KEY (bank_bin) REFERENCES banks (bin),
      CONSTRAINT fk_enrolments_wallet FOREIGN KEY (wallet_provider) REFERENCES wallet_providers (code)
    ) ${TABLE}`);

    // one row per change of an enrolment or its beneficiary: what it was, what it became, who, when, through what
    await q.query(`CREATE TABLE roll_history (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      enrolment_id BIGINT UNSIGNED NULL,
      change_type VARCHAR(32) ${ASCII} NOT NULL,
      before_state MEDIUMTEXT NULL,
      after_state MEDIUMTEXT NULL,
      reason VARCHAR(500) NULL,
      changed_by INT UNSIGNED NULL,
      import_id BIGINT UNSIGNED NULL,
      request_id VARCHAR(128) ${ASCII} NULL,
      changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_roll_history_beneficiary (beneficiary_id, id),
      KEY ix_roll_history_enrolment (enrolment_id, id),
      KEY ix_roll_history_import (import_id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE roll_imports (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      file_name VARCHAR(255) NOT NULL,
      format VARCHAR(8) ${ASCII} NOT NULL,
      file_sha256 CHAR(64) ${ASCII} NOT NULL,
      file_size BIGINT UNSIGNED NOT NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      phase VARCHAR(32) ${ASCII} NULL,
      rows_read INT UNSIGNED NOT NULL DEFAULT 0,
      rows_valid INT UNSIGNED NOT NULL DEFAULT 0,
      rows_invalid INT UNSIGNED NOT NULL DEFAULT 0,
      beneficiaries_created INT UNSIGNED NOT NULL DEFAULT 0,
      enrolments_created INT UNSIGNED NOT NULL DEFAULT 0,
      enrolments_updated INT UNSIGNED NOT NULL DEFAULT 0,
      enrolments_unchanged INT UNSIGNED NOT NULL DEFAULT 0,
      name_mismatches INT UNSIGNED NOT NULL DEFAULT 0,
      error_code VARCHAR(64) ${ASCII} NULL,
      error_message VARCHAR(1000) NULL,
      uploaded_by INT UNSIGNED NOT NULL,
      scope_area_id INT UNSIGNED NULL,
      request_id VARCHAR(128) ${ASCII} NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      started_at DATETIME(3) NULL,
      finished_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_roll_imports_uploader (uploaded_by, id),
      KEY ix_roll_imports_status (status, id)
    ) ${TABLE}`);

    // every problem of an import: row (0 = the file itself), column, message
    await q.query(`CREATE TABLE roll_import_problems (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      import_id BIGINT UNSIGNED NOT NULL,
      row_no INT UNSIGNED NOT NULL,
      column_name VARCHAR(64) NULL,
      code VARCHAR(40) ${ASCII} NOT NULL,
      message VARCHAR(500) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_problems_import (import_id, row_no, id),
      CONSTRAINT fk_problems_import FOREIGN KEY (import_id) REFERENCES roll_imports (id) ON DELETE CASCADE
    ) ${TABLE}`);

    // validated rows of an import, merged into the roll by set-based SQL, then deleted
    await q.query(`CREATE TABLE roll_import_rows (
      import_id BIGINT UNSIGNED NOT NULL,
      row_no INT UNSIGNED NOT NULL,
      national_id_hash BINARY(32) NOT NULL,
      national_id_enc VARBINARY(128) NOT NULL,
      national_id_masked CHAR(12) ${ASCII} NOT NULL,
      full_name VARCHAR(100) NOT NULL,
      name_search VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      given_search VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      date_of_birth DATE NOT NULL,
      gender CHAR(1) ${ASCII} NOT NULL,
      phone_hash BINARY(32) NULL,
      phone_enc VARBINARY(128) NULL,
      phone_masked CHAR(10) ${ASCII} NULL,
      area_id INT UNSIGNED NOT NULL,
      programme_id INT UNSIGNED NOT NULL,
      coefficient_x100 SMALLINT UNSIGNED NOT NULL,
      start_period INT UNSIGNED NOT NULL,
      end_period INT UNSIGNED NULL,
      channel VARCHAR(8) ${ASCII} NOT NULL,
      bank_bin CHAR(6) ${ASCII} NULL,
      account_hash BINARY(32) NULL,
      account_enc VARBINARY(128) NULL,
      account_masked VARCHAR(19) ${ASCII} NULL,
      account_name VARCHAR(100) NULL,
      wallet_provider VARCHAR(20) ${ASCII} NULL,
      wallet_hash BINARY(32) NULL,
      wallet_enc VARBINARY(128) NULL,
      wallet_masked VARCHAR(19) ${ASCII} NULL,
      name_mismatch TINYINT(1) NOT NULL,
      rejected TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (import_id, row_no),
      KEY ix_import_rows_nid (import_id, national_id_hash),
      KEY ix_import_rows_account (import_id, account_hash),
      KEY ix_import_rows_wallet (import_id, wallet_hash)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'roll_import_rows',
      'roll_import_problems',
      'roll_imports',
      'roll_history',
      'enrolments',
      'beneficiaries',
      'programme_base_levels',
      'programmes',
      'wallet_providers',
      'banks',
    ]) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
