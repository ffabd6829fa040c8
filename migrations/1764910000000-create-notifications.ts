import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * SMS notifications to recipients: gateways as data, templates per programme and event (versioned), recipients who
 * opted out, and the messages themselves, one per (recipient, event, subject) for ever.
 */
export class CreateNotifications1764910000000 implements MigrationInterface {
  name = 'CreateNotifications1764910000000';

  async up(q: QueryRunner): Promise<void> {
    // kind: sandbox (the built-in sandbox gateway: URL SANDBOX_URL/sms, client id and secret from config unless set),
    // http (an external SMS Gateway API v1). secret_enc: DataCipher ciphertext, associated data `sms-gateway:<id>`.
    // is_default: 1 on the one gateway new messages go through, NULL elsewhere (the unique key keeps it to one).
    await q.query(`CREATE TABLE sms_gateways (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      name VARCHAR(40) ${ASCII} NOT NULL,
      kind VARCHAR(16) ${ASCII} NOT NULL,
      base_url VARCHAR(500) ${ASCII} NULL,
      client_id VARCHAR(100) ${ASCII} NULL,
      secret_enc VARBINARY(256) NULL,
      sender VARCHAR(11) ${ASCII} NOT NULL,
      rate_limit_per_second INT UNSIGNED NOT NULL,
      price_per_segment BIGINT NOT NULL,
      timeout_ms INT UNSIGNED NOT NULL DEFAULT 10000,
      paused TINYINT(1) NOT NULL DEFAULT 0,
      is_default TINYINT(1) NULL,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_sms_gateways_name (name),
      UNIQUE KEY uq_sms_gateways_default (is_default)
    ) ${TABLE}`);
    await q.query(
      `INSERT INTO sms_gateways (name, kind, sender, rate_limit_per_second, price_per_segment, is_default) VALUES ('sandbox', 'sandbox', 'SOLDTBXH', 200, 650, 1)`,
    );

    // every edit is a new version; the highest is in force. plain: sent without diacritics (GSM-7).
    // active = 0: no message of this event is created for the programme.
    await q.query(`CREATE TABLE notification_templates (
      programme_id INT UNSIGNED NOT NULL,
      event VARCHAR(24) ${ASCII} NOT NULL,
      version INT UNSIGNED NOT NULL,
      body VARCHAR(1000) NOT NULL,
      plain TINYINT(1) NOT NULL DEFAULT 0,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (programme_id, event, version),
      CONSTRAINT fk_notification_templates_programme FOREIGN KEY (programme_id) REFERENCES programmes (id)
    ) ${TABLE}`);

    // a recipient who asked to get no SMS: who recorded it, when and why (opting in again deletes the row; the audit
    // trail keeps both)
    await q.query(`CREATE TABLE notification_opt_outs (
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      reason VARCHAR(500) NOT NULL,
      created_by INT UNSIGNED NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (beneficiary_id)
    ) ${TABLE}`);

    // One message per (recipient, event, subject) for ever: the primary key. subject is the payment's reference for
    // payment events, H<roll_history id> for enrolment events. reference is derived from the event (NTF-<subject>-<EVENT>)
    // and is the gateway's idempotency key. text, encoding, segments and cost are fixed when the message is claimed.
    await q.query(`CREATE TABLE notification_messages (
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      event VARCHAR(24) ${ASCII} NOT NULL,
      subject VARCHAR(40) ${ASCII} NOT NULL,
      reference VARCHAR(64) ${ASCII} NOT NULL,
      programme_id INT UNSIGNED NOT NULL,
      area_id INT UNSIGNED NOT NULL,
      batch_id BIGINT UNSIGNED NULL,
      payment_seq BIGINT UNSIGNED NULL,
      status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'pending',
      reason VARCHAR(40) ${ASCII} NULL,
      gateway_id INT UNSIGNED NULL,
      text VARCHAR(700) NULL,
      encoding VARCHAR(4) ${ASCII} NULL,
      segments SMALLINT UNSIGNED NULL,
      cost BIGINT NULL,
      claim_token CHAR(24) ${ASCII} NULL,
      claimed_at DATETIME(3) NULL,
      attempts INT UNSIGNED NOT NULL DEFAULT 0,
      next_attempt_at DATETIME(3) NULL,
      gateway_message_id VARCHAR(64) NULL,
      gateway_status VARCHAR(16) ${ASCII} NULL,
      error_code VARCHAR(32) ${ASCII} NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      sent_at DATETIME(3) NULL,
      final_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (beneficiary_id, event, subject),
      UNIQUE KEY uq_notification_messages_reference (reference),
      KEY ix_notification_messages_due (status, next_attempt_at),
      KEY ix_notification_messages_batch (batch_id, status)
    ) ${TABLE}`);

    // where the collection of events left off: per batch (signature: its payments counted by collected status when
    // last collected; done once the batch has been complete past the return window) and for the roll's history
    await q.query(`CREATE TABLE notification_cursors (
      name VARCHAR(40) ${ASCII} NOT NULL,
      position BIGINT UNSIGNED NOT NULL DEFAULT 0,
      done TINYINT(1) NOT NULL DEFAULT 0,
      signature VARCHAR(200) ${ASCII} NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (name)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['notification_cursors', 'notification_messages', 'notification_opt_outs', 'notification_templates', 'sms_gateways']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
