/**
 * Realistic roll files for benchmarks and demos: Vietnamese names with
 * diacritics, valid citizen IDs consistent with birth date and sex, bank,
 * wallet and cash channels, and a share of bad rows (wrong ID digit, unknown
 * bank, impossible date, missing account).
 *
 *   npx tsx bench/roll-generator.ts --rows 1000000 --bad 0.02 --out bench/out/roll-1000000.csv
 *
 * An --out ending in .xlsx writes the same rows as a workbook whose cells are all text in shared strings, as Excel
 * saves a roll whose columns are formatted as Text.
 */
import ExcelJS from 'exceljs';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { COLUMNS } from '../src/components/beneficiaries/roll-columns';

const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý'];
const MIDDLE_M = ['Văn', 'Hữu', 'Đức', 'Minh', 'Quốc', 'Xuân', 'Thanh', 'Công'];
const MIDDLE_F = ['Thị', 'Ngọc', 'Thanh', 'Hồng', 'Thu', 'Kim', 'Minh', 'Xuân'];
const GIVEN_M = [
  'An',
  'Bình',
  'Cường',
  'Dũng',
  'Hải',
  'Hùng',
  'Khánh',
  'Long',
  'Minh',
  'Nam',
  'Phúc',
  'Quang',
  'Sơn',
  'Thắng',
  'Tuấn',
  'Đông',
];
const GIVEN_F = ['Hà', 'Hạnh', 'Hoa', 'Hương', 'Lan', 'Linh', 'Mai', 'Nga', 'Ngọc', 'Phương', 'Tâm', 'Thảo', 'Thủy', 'Trang', 'Vân', 'Yến'];
const BANKS = ['970436', '970415', '970418', '970405', '970422', '970416', '970407'];
const WALLETS = ['VIETTELMONEY', 'VNPTMONEY', 'MOMO'];
const COEFFICIENTS = ['1', '1.5', '2', '2.5', '3'];
const PROVINCES = Array.from({ length: 50 }, (_, i) =>
  String(
    [
      1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52,
      54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79,
    ][i],
  ).padStart(3, '0'),
);

/** The contract's columns in its order (the validator's list is the one source). */
export const HEADER: string[] = COLUMNS.map((c) => c.key);

const FOLD: Record<string, string> = { đ: 'd', Đ: 'D' };
function upperAscii(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, (c) => FOLD[c]!)
    .toUpperCase();
}

/** A deterministic pseudo-random sequence, so that the same arguments make the same file. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  rows: number;
  bad: number;
  areas: string[];
  programme: string;
  seed: number;
}

/** Row i of the roll, as CSV cells. Unique national ID and account per i. */
export function makeRow(i: number, o: GenOptions, rand: () => number): string[] {
  const male = rand() < 0.45;
  const year = 1925 + Math.floor(rand() * 20);
  const month = 1 + Math.floor(rand() * 12);
  const day = 1 + Math.floor(rand() * 28);
  const dob = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const digit4 = male ? '0' : '1';
  const serial = String(Math.floor(i / 50)).padStart(6, '0');
  let nid = `${PROVINCES[i % 50]}${digit4}${String(year % 100).padStart(2, '0')}${serial}`;
  const family = FAMILY[Math.floor(rand() * FAMILY.length)]!;
  const middle = (male ? MIDDLE_M : MIDDLE_F)[Math.floor(rand() * 8)]!;
  const given = (male ? GIVEN_M : GIVEN_F)[Math.floor(rand() * 16)]!;
  const name = `${family} ${middle} ${given}`;
  const area = o.areas[i % o.areas.length]!;
  const r = rand();
  const channel = r < 0.6 ? 'BANK' : r < 0.8 ? 'WALLET' : 'CASH';
  // ends in 1: the sandbox SMS gateway rejects a number ending in 0000 (NUMBER_NOT_IN_SERVICE), and every demo
  // recipient's message is meant to be delivered
  const phone = `09${String(i % 10_000_000).padStart(7, '0')}1`;
  let bank = '';
  let account = '';
  let wallet = '';
  let walletId = '';
  let accountName = '';
  if (channel === 'BANK') {
    bank = BANKS[i % BANKS.length]!;
    // from 1: the sandbox provider answers an account ending in 0000 NOT_FOUND
    account = `1${String(i + 1).padStart(11, '0')}`;
    accountName = upperAscii(name);
  } else if (channel === 'WALLET') {
    wallet = WALLETS[i % WALLETS.length]!;
    walletId = `03${String(i + 1).padStart(8, '0')}`;
    accountName = upperAscii(name);
  }
  let dobOut = dob;
  if (rand() < o.bad) {
    const kind = Math.floor(rand() * 4);
    if (kind === 0)
      nid = `${nid.slice(0, 3)}${male ? '1' : '0'}${nid.slice(4)}`; // sex digit contradicts gender
    else if (kind === 1 && channel === 'BANK') bank = '999999';
    else if (kind === 2) dobOut = `${year}-02-30`;
    else if (channel === 'BANK') account = '';
    else nid = nid.slice(0, 11);
  }
  return [
    nid,
    name,
    dobOut,
    male ? 'M' : 'F',
    area,
    o.programme,
    COEFFICIENTS[Math.floor(rand() * COEFFICIENTS.length)]!,
    '2024-01',
    '',
    channel,
    bank,
    account,
    accountName,
    wallet,
    walletId,
    phone,
  ];
}

/** The rows of the roll, as CSV cells, in file order. */
export function* rollRows(o: GenOptions): Generator<string[]> {
  const rand = rng(o.seed);
  for (let i = 0; i < o.rows; i++) yield makeRow(i, o, rand);
}

export async function generateRoll(file: string, o: GenOptions): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  if (file.endsWith('.xlsx')) return generateRollXlsx(file, o);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let buf = `${HEADER.join(',')}\n`;
  for (const row of rollRows(o)) {
    buf += `${row.join(',')}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

async function generateRollXlsx(file: string, o: GenOptions): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true, useStyles: false });
  const ws = wb.addWorksheet('Danh sách');
  ws.addRow(HEADER).commit();
  const rand = rng(o.seed);
  for (let i = 0; i < o.rows; i++) ws.addRow(makeRow(i, o, rand)).commit();
  ws.commit();
  await wb.commit();
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      bad: { type: 'string', default: '0.02' },
      out: { type: 'string' },
      areas: { type: 'string', default: '00001,00004,00006,00007,00008,00037,00040,00043,00046,00091,00094,00097,00100' },
      programme: { type: 'string', default: 'TCXH-NCT80' },
      seed: { type: 'string', default: '42' },
    },
  });
  const rows = Number(values.rows);
  const file = values.out ?? `bench/out/roll-${rows}.csv`;
  const started = Date.now();
  generateRoll(file, {
    rows,
    bad: Number(values.bad),
    areas: values.areas!.split(','),
    programme: values.programme!,
    seed: Number(values.seed),
  }).then(() => console.log(`wrote ${rows} rows to ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s`));
}
