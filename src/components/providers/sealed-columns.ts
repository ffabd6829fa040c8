import { ownedColumn, type SealedColumn } from '../../platform/crypto/rotation';
import { secretAad } from './provider-model';

/** Providers' signing secrets, rewritten by key rotation. */
export const PROVIDER_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'providers', id: 'id', column: 'secret_enc', aad: (id) => secretAad(Number(id)) }),
];
