import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import type { DataSource } from 'typeorm';
import { addSheetRow, csvText, type Cell } from '../../platform/export/cells';
import { formatVnd } from '../../platform/money';
import { formatPeriod } from '../../platform/period';
import { amountInWords } from '../../platform/vn-words';
import { itemConditions, subtreeIds, type ItemFilter } from './batch-reads';
import { ITEM_COLUMNS, toItemView, type BatchRow, type ItemRow, type ItemView } from './batch-views';

export type ExportFormat = 'csv' | 'xlsx';

const CSV_HEADER = [
  'seq',
  'reference',
  'kind',
  'period',
  'areaCode',
  'areaName',
  'fullName',
  'channel',
  'bankCode',
  'walletProvider',
  'destination',
  'accountName',
  'baseLevel',
  'coefficient',
  'paidBefore',
  'amount',
  'amountInWords',
  'review',
  'reviewReason',
  'flagged',
  'lookupStatus',
  'status',
] as const;

function csvRow(v: ItemView): Cell[] {
  return [
    v.seq,
    v.reference,
    v.kind,
    v.period,
    v.areaCode,
    v.areaName,
    v.fullName,
    v.channel,
    v.bankCode,
    v.walletProvider,
    v.destination,
    v.accountName,
    v.baseLevel,
    v.coefficient,
    v.paidBefore,
    v.amount,
    amountInWords(v.amount),
    v.review,
    v.reviewReason,
    v.flagged ? 'yes' : 'no',
    v.lookupStatus,
    v.status,
  ];
}

/**
 * Streams the batch's items from one query, in `seq` order or grouped by area (area tree order, then name); memory
 * stays flat whatever the batch size.
 */
async function streamItems(
  ds: DataSource,
  b: BatchRow,
  f: ItemFilter,
  order: 'seq' | 'area',
): Promise<{ rows: AsyncIterable<ItemView>; release: () => Promise<void> }> {
  const { conds, params } = itemConditions(b.id, f, await subtreeIds(ds, f.areaId));
  const runner = ds.createQueryRunner();
  await runner.connect();
  let raw: Readable;
  try {
    raw = await runner.stream(
      `SELECT ${ITEM_COLUMNS} FROM payments p FORCE INDEX (PRIMARY) STRAIGHT_JOIN areas ia FORCE INDEX (PRIMARY) ON ia.id = p.area_id
       WHERE ${conds.join(' AND ')} ORDER BY ${order === 'seq' ? 'p.seq' : 'ia.path, p.full_name, p.seq'}`,
      params,
    );
  } catch (e) {
    await runner.release();
    throw e;
  }
  return {
    rows: (async function* () {
      for await (const r of raw) yield toItemView(r as ItemRow);
    })(),
    release: async () => {
      raw.destroy();
      await runner.release();
    },
  };
}

/** CSV (UTF-8 with BOM, for spreadsheet programs) of every column an officer checks, destinations masked. */
export async function writeItemsCsv(ds: DataSource, b: BatchRow, f: ItemFilter, out: Writable): Promise<void> {
  const { rows, release } = await streamItems(ds, b, f, 'seq');
  try {
    await pipeline(
      Readable.from(
        csvText(
          CSV_HEADER,
          (async function* () {
            for await (const v of rows) yield csvRow(v);
          })(),
        ),
      ),
      out,
    );
  } finally {
    await release();
  }
}

/**
 * The printable list ("danh sách chi trả"): one row per payment with the
 * amount in figures and in Vietnamese words and a column to sign on receipt,
 * as cash pay points use it; a subtotal after each commune and a grand total.
 * Written by exceljs's streaming writer: rows are committed as they come.
 */
export async function writeItemsXlsx(ds: DataSource, b: BatchRow, f: ItemFilter, out: Writable): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet('Danh sach chi tra', {
    pageSetup: { orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
  });
  ws.columns = [
    { key: 'stt', width: 7 },
    { key: 'fullName', width: 28 },
    { key: 'area', width: 24 },
    { key: 'channel', width: 10 },
    { key: 'destination', width: 26 },
    { key: 'period', width: 10 },
    { key: 'amount', width: 14, style: { numFmt: '#,##0' } },
    { key: 'words', width: 48 },
    { key: 'reference', width: 26 },
    { key: 'sign', width: 16 },
  ];
  const title = addSheetRow(ws, [
    `Danh sách chi trả ${b.programme_code} – ${b.programme_name}, kỳ ${formatPeriod(b.period_from)}${
      b.period_to !== b.period_from ? ` đến ${formatPeriod(b.period_to)}` : ''
    } – ${b.area_name}`,
  ]);
  title.font = { bold: true, size: 13 };
  title.commit();
  addSheetRow(ws, [`Đợt chi ${b.id} (${b.reference_prefix}), trạng thái ${b.status}`]).commit();
  const header = addSheetRow(ws, [
    'STT',
    'Họ và tên',
    'Xã/phường',
    'Hình thức',
    'Tài khoản / ví',
    'Kỳ',
    'Số tiền (đ)',
    'Số tiền bằng chữ',
    'Mã thanh toán',
    'Ký nhận',
  ]);
  header.font = { bold: true };
  header.commit();
  const { rows, release } = await streamItems(ds, b, f, 'area');
  let n = 0;
  let total = 0;
  let areaId: number | null = null;
  let areaName = '';
  let areaCount = 0;
  let areaTotal = 0;
  const subtotal = () => {
    const r = addSheetRow(ws, ['', `Cộng ${areaName}: ${areaCount} người`, '', '', '', '', areaTotal, amountInWords(areaTotal)]);
    r.font = { italic: true };
    r.commit();
  };
  try {
    for await (const v of rows) {
      if (areaId !== null && v.areaId !== areaId) subtotal();
      if (v.areaId !== areaId) {
        areaId = v.areaId;
        areaName = v.areaName;
        areaCount = 0;
        areaTotal = 0;
      }
      n += 1;
      total += v.amount;
      areaCount += 1;
      areaTotal += v.amount;
      addSheetRow(ws, [
        n,
        v.fullName,
        v.areaName,
        v.channel === 'CASH' ? 'Tiền mặt' : v.channel === 'BANK' ? `NH ${v.bankCode ?? ''}` : `Ví ${v.walletProvider ?? ''}`,
        v.destination ?? '',
        v.period,
        v.amount,
        amountInWords(v.amount),
        v.reference,
        '',
      ]).commit();
    }
    if (areaId !== null) subtotal();
    const t = addSheetRow(ws, ['', `Tổng cộng: ${n} người`, '', '', '', '', total, amountInWords(total)]);
    t.font = { bold: true };
    t.commit();
    addSheetRow(ws, ['', `(${formatVnd(total)})`]).commit();
  } finally {
    await release();
  }
  ws.commit();
  await wb.commit();
}
