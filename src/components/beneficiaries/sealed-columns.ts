import { ownedColumn, type SealedColumn } from '../../platform/crypto/rotation';

/** The roll's sealed columns (people's national IDs and phones, enrolments' destinations), rewritten by key rotation. */
export const ROLL_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'beneficiaries', id: 'id', column: 'national_id_enc', aad: () => 'nid' }),
  ownedColumn({ table: 'beneficiaries', id: 'id', column: 'phone_enc', aad: () => 'phone' }),
  ownedColumn({ table: 'enrolments', id: 'id', column: 'account_enc', aad: () => 'account' }),
  ownedColumn({ table: 'enrolments', id: 'id', column: 'wallet_enc', aad: () => 'wallet' }),
];
