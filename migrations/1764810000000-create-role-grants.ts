import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Grants of the approver and admin roles: one administrator proposes, another
 * confirms or rejects. `from_roles` are the user's roles when proposed: a
 * grant whose user has other roles by now is stale and cannot be confirmed.
 * `password_part_enc` holds the proposer's half of the temporary password
 * (DataCipher) until the grant is decided.
 */
export class CreateRoleGrants1764810000000 implements MigrationInterface {
  name = 'CreateRoleGrants1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE role_grants (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      user_id INT UNSIGNED NOT NULL,
      roles SET('admin','staff','approver','auditor') NOT NULL,
      from_roles SET('admin','staff','approver','auditor') NOT NULL,
      status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'pending',
      proposed_by INT UNSIGNED NOT NULL,
      proposed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      decided_by INT UNSIGNED NULL,
      decided_at DATETIME(3) NULL,
      password_part_enc VARBINARY(255) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_role_grants_user (user_id, status),
      KEY ix_role_grants_status (status, id),
      CONSTRAINT fk_role_grants_user FOREIGN KEY (user_id) REFERENCES users (id),
      CONSTRAINT fk_role_grants_proposed_by FOREIGN KEY (proposed_by) REFERENCES users (id),
      CONSTRAINT fk_role_grants_decided_by FOREIGN KEY (decided_by) REFERENCES users (id)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE role_grants');
  }
}
