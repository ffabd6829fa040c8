import { ownedColumn, type SealedColumn } from '../../platform/crypto/rotation';
import { secretAad } from './sms-gateways.service';

/** SMS gateways' signing secrets, rewritten by key rotation. */
export const NOTIFICATION_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'sms_gateways', id: 'id', column: 'secret_enc', aad: (id) => secretAad(Number(id)) }),
];
