import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from '../../platform/security';

const bool = { to: (v: boolean) => (v ? 1 : 0), from: (v: number | null) => v === 1 };

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'int', unsigned: true })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  username!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 200 })
  displayName!: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: true })
  passwordHash!: string;

  @Column({ type: 'set', enum: ['admin', 'staff', 'approver', 'auditor'] })
  roles!: Role[];

  @Column({ name: 'area_id', type: 'int', unsigned: true, nullable: true })
  areaId!: number | null;

  @Column({ type: 'tinyint', transformer: bool })
  active!: boolean;

  /** Why the account is inactive: `deactivated` by an admin, or `inactive` after 45 unused days. */
  @Column({ name: 'disabled_reason', type: 'varchar', length: 32, nullable: true })
  disabledReason!: string | null;

  /** Set at creation and at every admin reset; cleared when the user picks their own password. */
  @Column({ name: 'must_change_password', type: 'tinyint', transformer: bool })
  mustChangePassword!: boolean;

  @Column({ name: 'password_changed_at', type: 'datetime', precision: 3, nullable: true })
  passwordChangedAt!: Date | null;

  @Column({ name: 'failed_logins', type: 'int', unsigned: true })
  failedLogins!: number;

  /** Set when failed logins reach the limit; only an admin's unlock clears it. */
  @Column({ name: 'locked_at', type: 'datetime', precision: 3, nullable: true })
  lockedAt!: Date | null;

  /** Encrypted with the data keyring. */
  @Column({ name: 'totp_secret', type: 'varbinary', length: 255, nullable: true })
  totpSecret!: Buffer | null;

  @Column({ name: 'totp_enabled', type: 'tinyint', transformer: bool })
  totpEnabled!: boolean;

  /** Last TOTP time step accepted: a code is good once. */
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true })
  totpLastStep!: string | null;

  @Column({ name: 'last_login_at', type: 'datetime', precision: 3, nullable: true })
  lastLoginAt!: Date | null;

  /** Last login, token refresh, creation or reactivation: the 45-day inactivity rule counts from here. */
  @Column({ name: 'last_active_at', type: 'datetime', precision: 3 })
  lastActiveAt!: Date;

  @Column({ name: 'created_by', type: 'int', unsigned: true, nullable: true })
  createdBy!: number | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3, insert: false, update: false })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3, insert: false, update: false })
  updatedAt!: Date;
}
