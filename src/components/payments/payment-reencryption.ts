import { ownedColumn, type SealedColumn } from '../../platform/crypto/rotation';

/**
 * Payments' sealed destinations (a copy of the enrolment's at generation), rewritten by key rotation through the
 * payments component: `updated_at` keeps its value, and a value changed since rotation read it (a correction, a retry
 * batch's copy) keeps the newer value.
 */
export const PAYMENT_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'payments', id: 'id', column: 'account_enc', aad: () => 'account' }),
  ownedColumn({ table: 'payments', id: 'id', column: 'wallet_enc', aad: () => 'wallet' }),
];
