import { AUTH_SEALED_COLUMNS } from './components/auth/sealed-columns';
import { ROLL_SEALED_COLUMNS } from './components/beneficiaries/sealed-columns';
import { NOTIFICATION_SEALED_COLUMNS } from './components/notifications/sealed-columns';
import { PAYMENT_SEALED_COLUMNS } from './components/payments/payment-reencryption';
import { PROVIDER_SEALED_COLUMNS } from './components/providers/sealed-columns';
import type { SealedColumn } from './platform/crypto/rotation';
import { IDEMPOTENCY_SEALED_COLUMNS } from './platform/http/idempotency';

/**
 * Every column of the schema that holds DataCipher ciphertexts, each declared by the component that owns its table
 * with that component's write of a re-encrypted page: key rotation (scripts/rotate-data-key.ts) writes no table itself.
 * A new sealed column must be declared by its owner and listed here (a test compares this list with the schema). The
 * staging tables of roll imports are left out: each import run drops and refills its own from the file.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  ...ROLL_SEALED_COLUMNS,
  ...PAYMENT_SEALED_COLUMNS,
  ...AUTH_SEALED_COLUMNS,
  ...IDEMPOTENCY_SEALED_COLUMNS,
  ...PROVIDER_SEALED_COLUMNS,
  ...NOTIFICATION_SEALED_COLUMNS,
];
