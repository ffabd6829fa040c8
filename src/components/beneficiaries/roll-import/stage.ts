import type { DataCipher } from '../../../platform/crypto';
import type { RollRow } from '../roll-row';
import { foldName, givenFirst, maskDigits, maskNationalId } from '../roll-values';
import { FINGERPRINTS_PER_ROW, fingerprintInto, NO_FINGERPRINT } from './repeats';
import type { TsvWriter } from './tsv-writer';

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
] as const satisfies readonly (keyof StagedRow)[];

/** A staging row as roll_import_rows holds it, column by column (STAGE_COLUMNS). */
export interface StagedRow {
  import_id: string;
  row_no: number;
  national_id_hash: Buffer;
  /** Null when the row is staged without ciphertexts (see writeStageRow's `seal`), as for the other `_enc`. */
  national_id_enc: Buffer | null;
  national_id_masked: string;
  full_name: string;
  name_search: string;
  given_search: string;
  date_of_birth: string;
  gender: RollRow['gender'];
  phone_hash: Buffer | null;
  phone_enc: Buffer | null;
  phone_masked: string | null;
  area_id: number;
  programme_id: number;
  coefficient_x100: number;
  start_period: number;
  end_period: number | null;
  channel: RollRow['channel'];
  bank_bin: string | null;
  account_hash: Buffer | null;
  account_enc: Buffer | null;
  account_masked: string | null;
  account_name: string | null;
  wallet_provider: string | null;
  wallet_hash: Buffer | null;
  wallet_enc: Buffer | null;
  wallet_masked: string | null;
  name_mismatch: 0 | 1;
}

/** Every column of StagedRow is in STAGE_COLUMNS (and the `satisfies` above says no other is). */
const stageColumnsComplete: Exclude<keyof StagedRow, (typeof STAGE_COLUMNS)[number]> extends never ? true : never = true;
void stageColumnsComplete;

/** The staging row: identifiers encrypted and keyed-hashed, masks and search keys computed. */
export function stageRow(c: DataCipher, importId: string, { rowNo, row: r, areaId, programmeId }: StageInput, seal = true): StagedRow {
  const folded = foldName(r.fullName);
  const bank = r.channel === 'BANK';
  const wallet = r.channel === 'WALLET';
  return {
    import_id: importId,
    row_no: rowNo,
    national_id_hash: c.lookupHash('nid', r.nationalId),
    national_id_enc: seal ? c.encrypt(r.nationalId, 'nid') : null,
    national_id_masked: maskNationalId(r.nationalId),
    full_name: r.fullName,
    name_search: folded,
    given_search: givenFirst(folded),
    date_of_birth: r.dateOfBirth,
    gender: r.gender,
    phone_hash: r.phone ? c.lookupHash('phone', r.phone) : null,
    phone_enc: r.phone && seal ? c.encrypt(r.phone, 'phone') : null,
    phone_masked: r.phone ? maskDigits(r.phone, 3, 2) : null,
    area_id: areaId,
    programme_id: programmeId,
    coefficient_x100: r.coefficientX100,
    start_period: r.startPeriod,
    end_period: r.endPeriod,
    channel: r.channel,
    bank_bin: bank ? r.bankCode : null,
    account_hash: bank ? c.lookupHash('account', `${r.bankCode}:${r.accountNumber}`) : null,
    account_enc: bank && seal ? c.encrypt(r.accountNumber!, 'account') : null,
    account_masked: bank ? maskDigits(r.accountNumber!, 0, 4) : null,
    account_name: bank || wallet ? r.accountName : null,
    wallet_provider: wallet ? r.walletProvider : null,
    wallet_hash: wallet ? c.lookupHash('wallet', `${r.walletProvider}:${r.walletId}`) : null,
    wallet_enc: wallet && seal ? c.encrypt(r.walletId!, 'wallet') : null,
    wallet_masked: wallet ? maskDigits(r.walletId!, 3, 2) : null,
    name_mismatch: r.nameMismatch ? 1 : 0,
  };
}

/** The values of `row` in STAGE_COLUMNS order, for a multi-row INSERT. */
export function stageValues(row: StagedRow): unknown[] {
  return STAGE_COLUMNS.map((col) => row[col]);
}

/** The fingerprints (RepeatFinder) of `stageRow` rows, FINGERPRINTS_PER_ROW each. */
export function stageRowFingerprints(rows: readonly StagedRow[]): Uint32Array {
  const fps = new Uint32Array(rows.length * FINGERPRINTS_PER_ROW);
  rows.forEach((r, k) => {
    fingerprintInto(r.national_id_hash, fps, k * FINGERPRINTS_PER_ROW);
    const a = r.account_hash ?? r.wallet_hash;
    if (a) fingerprintInto(a, fps, k * FINGERPRINTS_PER_ROW + 2);
    else fps[k * FINGERPRINTS_PER_ROW + 2] = NO_FINGERPRINT;
  });
  return fps;
}

/**
 * The staging row of `stageRow`, written as one line of a LOAD DATA file (same values, same column order).
 * `seal` false leaves the ciphertexts out (NULL): the rows of a file whose
 * people are mostly on the roll already, where only what the merge writes is encrypted (fill.ts).
 * The row's fingerprints (RepeatFinder) go to `fps` as row `k` of its batch.
 */
export function writeStageRow(
  w: TsvWriter,
  c: DataCipher,
  importId: string,
  { rowNo, row: r, areaId, programmeId }: StageInput,
  seal: boolean,
  fps: Uint32Array,
  k: number,
): void {
  const folded = foldName(r.fullName);
  const bank = r.channel === 'BANK';
  const wallet = r.channel === 'WALLET';
  w.text(importId);
  w.int(rowNo);
  const nidHash = c.lookupHash('nid', r.nationalId);
  fingerprintInto(nidHash, fps, k * FINGERPRINTS_PER_ROW);
  fps[k * FINGERPRINTS_PER_ROW + 2] = NO_FINGERPRINT;
  w.bytes(nidHash);
  if (seal) w.bytes(c.encrypt(r.nationalId, 'nid'));
  else w.nul();
  w.text(maskNationalId(r.nationalId));
  w.text(r.fullName);
  w.text(folded);
  w.text(givenFirst(folded));
  w.text(r.dateOfBirth);
  w.text(r.gender);
  if (r.phone) {
    w.bytes(c.lookupHash('phone', r.phone));
    if (seal) w.bytes(c.encrypt(r.phone, 'phone'));
    else w.nul();
    w.text(maskDigits(r.phone, 3, 2));
  } else {
    w.nul();
    w.nul();
    w.nul();
  }
  w.int(areaId);
  w.int(programmeId);
  w.int(r.coefficientX100);
  w.int(r.startPeriod);
  w.intOrNull(r.endPeriod);
  w.text(r.channel);
  if (bank) {
    w.text(r.bankCode!);
    const accountHash = c.lookupHash('account', `${r.bankCode}:${r.accountNumber}`);
    fingerprintInto(accountHash, fps, k * FINGERPRINTS_PER_ROW + 2);
    w.bytes(accountHash);
    if (seal) w.bytes(c.encrypt(r.accountNumber!, 'account'));
    else w.nul();
    w.text(maskDigits(r.accountNumber!, 0, 4));
  } else {
    w.nul();
    w.nul();
    w.nul();
    w.nul();
  }
  w.textOrNull(bank || wallet ? r.accountName : null);
  if (wallet) {
    w.text(r.walletProvider!);
    const walletHash = c.lookupHash('wallet', `${r.walletProvider}:${r.walletId}`);
    fingerprintInto(walletHash, fps, k * FINGERPRINTS_PER_ROW + 2);
    w.bytes(walletHash);
    if (seal) w.bytes(c.encrypt(r.walletId!, 'wallet'));
    else w.nul();
    w.text(maskDigits(r.walletId!, 3, 2));
  } else {
    w.nul();
    w.nul();
    w.nul();
    w.nul();
  }
  w.int(r.nameMismatch ? 1 : 0);
  w.endRow();
}

/** A batch written by `writeStageBatch`: its LOAD DATA bytes in order, and its rows' fingerprints (RepeatFinder). */
export interface StagedBatch {
  chunks: Buffer[];
  fps: Uint32Array;
}

/** `writeStageRow` for each row of a batch: what the staging thread and the reading thread both do with one. */
export function writeStageBatch(w: TsvWriter, c: DataCipher, importId: string, batch: readonly StageInput[], seal: boolean): StagedBatch {
  const chunks: Buffer[] = [];
  const fps = new Uint32Array(batch.length * FINGERPRINTS_PER_ROW);
  for (let k = 0; k < batch.length; k++) {
    writeStageRow(w, c, importId, batch[k]!, seal, fps, k);
    if (w.full) chunks.push(w.take());
  }
  if (w.length) chunks.push(w.take());
  return { chunks, fps };
}

/** Values per row of `packStageInputs`: a StageInput as a flat list, cheap to post to a worker thread. */
const PACKED_FIELDS = 18;

/** The StageInputs as one flat array (structured clone copies it in one pass, without an object per row). */
export function packStageInputs(batch: readonly StageInput[]): unknown[] {
  const out: unknown[] = new Array(batch.length * PACKED_FIELDS);
  let i = 0;
  for (const { rowNo, row: r, areaId, programmeId } of batch) {
    out[i++] = rowNo;
    out[i++] = areaId;
    out[i++] = programmeId;
    out[i++] = r.nationalId;
    out[i++] = r.fullName;
    out[i++] = r.dateOfBirth;
    out[i++] = r.gender;
    out[i++] = r.phone;
    out[i++] = r.coefficientX100;
    out[i++] = r.startPeriod;
    out[i++] = r.endPeriod;
    out[i++] = r.channel;
    out[i++] = r.bankCode;
    out[i++] = r.accountNumber;
    out[i++] = r.accountName;
    out[i++] = r.walletProvider;
    out[i++] = r.walletId;
    out[i++] = r.nameMismatch;
  }
  return out;
}

/** The rows of `packStageInputs` again, with what `writeStageRow` reads (area and programme codes are not staged). */
export function unpackStageInputs(flat: readonly unknown[]): StageInput[] {
  const rows: StageInput[] = [];
  for (let i = 0; i < flat.length; i += PACKED_FIELDS) {
    rows.push({
      rowNo: flat[i] as number,
      areaId: flat[i + 1] as number,
      programmeId: flat[i + 2] as number,
      row: {
        nationalId: flat[i + 3] as string,
        fullName: flat[i + 4] as string,
        dateOfBirth: flat[i + 5] as string,
        gender: flat[i + 6] as RollRow['gender'],
        areaCode: '',
        programmeCode: '',
        phone: flat[i + 7] as string | null,
        coefficientX100: flat[i + 8] as number,
        startPeriod: flat[i + 9] as number,
        endPeriod: flat[i + 10] as number | null,
        channel: flat[i + 11] as RollRow['channel'],
        bankCode: flat[i + 12] as string | null,
        accountNumber: flat[i + 13] as string | null,
        accountName: flat[i + 14] as string | null,
        walletProvider: flat[i + 15] as string | null,
        walletId: flat[i + 16] as string | null,
        nameMismatch: flat[i + 17] as boolean,
      },
    });
  }
  return rows;
}

/** LOAD DATA of `writeStageRow` lines; the file name is only a label, the client streams the rows. */
export function loadSql(table: string): string {
  return `LOAD DATA LOCAL INFILE 'roll-import-rows' INTO TABLE ${table} CHARACTER SET binary
    FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${STAGE_COLUMNS.join(', ')})`;
}

export function insertSql(table: string): string {
  return `INSERT INTO ${table} (${STAGE_COLUMNS.join(', ')}) VALUES ?`;
}
