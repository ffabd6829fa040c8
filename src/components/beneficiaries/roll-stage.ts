import type { DataCipher } from '../../platform/crypto';
import { foldName, maskDigits, maskNationalId, type RollRow } from './roll-validation';

/** A validated row on its way to the staging table. */
export interface StageInput {
  rowNo: number;
  row: RollRow;
  areaId: number;
  programmeId: number;
}

export const STAGE_COLUMNS = [
  'import_id',
  'row_no',
  'national_id_hash',
  'national_id_enc',
  'national_id_masked',
  'full_name',
  'name_search',
  'given_search',
  'date_of_birth',
  'gender',
  'phone_hash',
  'phone_enc',
  'phone_masked',
  'area_id',
  'programme_id',
  'coefficient_x100',
  'start_period',
  'end_period',
  'channel',
  'bank_bin',
  'account_hash',
  'account_enc',
  'account_masked',
  'account_name',
  'wallet_provider',
  'wallet_hash',
  'wallet_enc',
  'wallet_masked',
  'name_mismatch',
] as const;

/** The given name first (`an nguyen van`), so that a search for the given name uses an index too. */
export function givenFirst(folded: string): string {
  const i = folded.lastIndexOf(' ');
  return i < 0 ? folded : `${folded.slice(i + 1)} ${folded.slice(0, i)}`;
}

/** The staging row: identifiers encrypted and keyed-hashed, masks and search keys computed. Same order as STAGE_COLUMNS. */
export function stageRow(c: DataCipher, importId: string, { rowNo, row: r, areaId, programmeId }: StageInput): unknown[] {
  const folded = foldName(r.fullName);
  const bank = r.channel === 'BANK';
  const wallet = r.channel === 'WALLET';
  return [
    importId,
    rowNo,
    c.lookupHash('nid', r.nationalId),
    c.encrypt(r.nationalId, 'nid'),
    maskNationalId(r.nationalId),
    r.fullName,
    folded,
    givenFirst(folded),
    r.dateOfBirth,
    r.gender,
    r.phone ? c.lookupHash('phone', r.phone) : null,
    r.phone ? c.encrypt(r.phone, 'phone') : null,
    r.phone ? maskDigits(r.phone, 3, 2) : null,
    areaId,
    programmeId,
    r.coefficientX100,
    r.startPeriod,
    r.endPeriod,
    r.channel,
    bank ? r.bankCode : null,
    bank ? c.lookupHash('account', `${r.bankCode}:${r.accountNumber}`) : null,
    bank ? c.encrypt(r.accountNumber!, 'account') : null,
    bank ? maskDigits(r.accountNumber!, 0, 4) : null,
    bank || wallet ? r.accountName : null,
    wallet ? r.walletProvider : null,
    wallet ? c.lookupHash('wallet', `${r.walletProvider}:${r.walletId}`) : null,
    wallet ? c.encrypt(r.walletId!, 'wallet') : null,
    wallet ? maskDigits(r.walletId!, 3, 2) : null,
    r.nameMismatch ? 1 : 0,
  ];
}

export function insertSql(table: string): string {
  return `INSERT INTO ${table} (${STAGE_COLUMNS.join(', ')}) VALUES ?`;
}
