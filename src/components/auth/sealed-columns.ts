import { ownedColumn, type SealedColumn } from '../../platform/crypto/rotation';

/** Users' TOTP secrets and the halves of temporary passwords of role grants, rewritten by key rotation. */
export const AUTH_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'users', id: 'id', column: 'totp_secret', aad: (id) => `totp:${id}` }),
  ownedColumn({ table: 'role_grants', id: 'id', column: 'password_part_enc', aad: (id) => `role-grant:${id}` }),
];
