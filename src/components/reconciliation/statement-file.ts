import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { invalid } from '../../platform/errors';
import { FAILURE_CODES as PORT_FAILURE_CODES, TRANSFER_STATUSES, type FailureCode, type TransferStatus } from '../providers/provider.port';

/** The contract's statement header (provider API section 5), in its order. */
export const STATEMENT_HEADER = ['reference', 'transferId', 'status', 'amount', 'currency', 'failureCode', 'occurredAt'] as const;

/**
 * `provider`: the contract's statement CSV (fetched, or uploaded by staff).
 * `paypoint`: a cash pay point's results file, `reference,paid[,amount][,note]`:
 * it says who was paid, not when or through which transfer.
 */
export type StatementFormat = 'provider' | 'paypoint';

/** The contract's statuses and failure codes, as the provider port has them. */
export const STATUSES: readonly TransferStatus[] = TRANSFER_STATUSES;
export const FAILURE_CODES: readonly FailureCode[] = PORT_FAILURE_CODES;
/** A pay point's "not paid": the person did not come. */
export const NOT_COLLECTED = 'NOT_COLLECTED';

export interface ParsedLine {
  /** 1-based line of the file (the header is line 1). */
  lineNo: number;
  reference: string;
  transferId: string | null;
  status: TransferStatus;
  /** null: the file does not say (pay point results without an amount column). */
  amount: number | null;
  currency: string | null;
  failureCode: string | null;
  occurredAt: string;
}

export interface LineProblem {
  line: number;
  column: string | null;
  message: string;
}

const REFERENCE = /^[A-Za-z0-9_-]{1,64}$/;
const TRANSFER_ID = /^[\x21-\x7e]{1,64}$/;
const AMOUNT = /^[1-9]\d{0,14}$/;
const CURRENCY = /^[A-Z]{3}$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;
const YES = new Set(['yes', 'y', '1', 'true', 'có', 'co', 'x']);
const NO = new Set(['no', 'n', '0', 'false', 'không', 'khong']);
/** Most problems listed; the file is refused whatever their number. */
export const MAX_PROBLEMS = 200;
/** A longer line is not a statement line. */
const MAX_LINE_BYTES = 4096;

/**
 * Checks the first line of an uploaded file before it is accepted: UTF-8, the
 * header of its format. Cheap (reads at most 64 KiB); the lines themselves
 * are checked when the statement is loaded.
 */
export async function checkHeader(path: string, format: StatementFormat): Promise<void> {
  const fh = await open(path, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead === 0) throw invalid('STATEMENT_EMPTY', 'the statement file is empty');
    const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
    const first = buf.subarray(0, nl === -1 ? bytesRead : nl);
    head = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(first).replace(/\r$/, '');
  } catch (e) {
    if (e instanceof TypeError) throw invalid('STATEMENT_ENCODING', 'the statement file is not UTF-8 text');
    throw e;
  } finally {
    await fh.close();
  }
  const cols = head.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  if (format === 'provider') {
    if (cols.join(',') !== STATEMENT_HEADER.join(',')) {
      throw invalid('STATEMENT_HEADER', `the first line must be the contract's header: ${STATEMENT_HEADER.join(',')}`, {
        found: head.slice(0, 200),
      });
    }
    return;
  }
  const lower = cols.map((c) => c.toLowerCase());
  const missing = ['reference', 'paid'].filter((c) => !lower.includes(c));
  if (missing.length)
    throw invalid('STATEMENT_HEADER', `a pay point results file needs the columns reference and paid; missing: ${missing.join(', ')}`);
  const unknown = lower.filter((c) => !['reference', 'paid', 'amount', 'note'].includes(c));
  if (unknown.length) throw invalid('STATEMENT_HEADER', `unknown column(s) in the results file: ${unknown.join(', ')}`);
}

function provider(rec: string[], lineNo: number, problems: LineProblem[]): ParsedLine | null {
  if (rec.length !== STATEMENT_HEADER.length) {
    problems.push({ line: lineNo, column: null, message: `expected ${STATEMENT_HEADER.length} fields, found ${rec.length}` });
    return null;
  }
  const [reference, transferId, status, amount, currency, failureCode, occurredAt] = rec as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const before = problems.length;
  if (!REFERENCE.test(reference))
    problems.push({ line: lineNo, column: 'reference', message: 'reference must be 1-64 of A-Z a-z 0-9 _ -' });
  if (!TRANSFER_ID.test(transferId)) problems.push({ line: lineNo, column: 'transferId', message: 'transferId is missing or malformed' });
  if (!STATUSES.includes(status as TransferStatus)) {
    problems.push({ line: lineNo, column: 'status', message: `status must be one of ${STATUSES.join(', ')}` });
  }
  if (!AMOUNT.test(amount)) problems.push({ line: lineNo, column: 'amount', message: 'amount must be a positive whole number of đồng' });
  if (!CURRENCY.test(currency)) problems.push({ line: lineNo, column: 'currency', message: 'currency must be a 3-letter code' });
  const final = status === 'FAILED' || status === 'RETURNED';
  if (final && !FAILURE_CODES.includes(failureCode as FailureCode)) {
    problems.push({ line: lineNo, column: 'failureCode', message: `a ${status} line needs a failureCode of ${FAILURE_CODES.join(', ')}` });
  } else if (!final && failureCode !== '') {
    problems.push({ line: lineNo, column: 'failureCode', message: 'failureCode is only for FAILED and RETURNED' });
  }
  if (!ISO_WITH_OFFSET.test(occurredAt) || Number.isNaN(Date.parse(occurredAt))) {
    problems.push({ line: lineNo, column: 'occurredAt', message: 'occurredAt must be ISO 8601 with an offset' });
  }
  if (problems.length !== before) return null;
  return {
    lineNo,
    reference,
    transferId,
    status: status as TransferStatus,
    amount: Number(amount),
    currency,
    failureCode: failureCode || null,
    occurredAt,
  };
}

function paypoint(rec: Record<string, string>, lineNo: number, problems: LineProblem[], occurredAt: string): ParsedLine | null {
  const reference = (rec.reference ?? '').trim();
  const paidText = (rec.paid ?? '').trim().toLowerCase();
  const amountText = (rec.amount ?? '').trim();
  const before = problems.length;
  if (!REFERENCE.test(reference))
    problems.push({ line: lineNo, column: 'reference', message: 'reference must be 1-64 of A-Z a-z 0-9 _ -' });
  const paid = YES.has(paidText) ? true : NO.has(paidText) ? false : null;
  if (paid === null) problems.push({ line: lineNo, column: 'paid', message: `paid must be yes or no, not "${rec.paid ?? ''}"` });
  if (amountText !== '' && !AMOUNT.test(amountText)) {
    problems.push({ line: lineNo, column: 'amount', message: 'amount, when given, must be a positive whole number of đồng' });
  }
  if (problems.length !== before) return null;
  return {
    lineNo,
    reference,
    transferId: null,
    status: paid ? 'SUCCEEDED' : 'FAILED',
    amount: amountText === '' ? null : Number(amountText),
    currency: amountText === '' ? null : 'VND',
    failureCode: paid ? null : NOT_COLLECTED,
    occurredAt,
  };
}

/**
 * Reads a statement file line by line, in groups of `groupSize`, checking
 * every line. Memory holds one group. Throws `invalid` STATEMENT_INVALID with
 * the first MAX_PROBLEMS problems (line, column, message) once the whole file
 * has been read, if any line is wrong: a caller that loads groups as they come
 * must undo them then.
 */
export async function* readStatement(
  path: string,
  format: StatementFormat,
  opts: { groupSize?: number; businessDate: string },
): AsyncGenerator<ParsedLine[]> {
  if (format === 'provider' && !(await hasQuote(path))) {
    yield* readPlain(path, opts.groupSize ?? 2000);
    return;
  }
  const groupSize = opts.groupSize ?? 2000;
  const problems: LineProblem[] = [];
  let problemCount = 0;
  const occurredAt = `${opts.businessDate}T12:00:00+07:00`;
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      columns: format === 'paypoint' ? (h: string[]) => h.map((c) => c.trim().toLowerCase()) : false,
      from_line: format === 'provider' ? 2 : 1,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: MAX_LINE_BYTES,
      info: true,
    }),
  );
  let group: ParsedLine[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[] | Record<string, string>; info: { lines: number } }>) {
      const lineNo = info.lines;
      const local: LineProblem[] = [];
      const line =
        format === 'provider'
          ? provider(record as string[], lineNo, local)
          : paypoint(record as Record<string, string>, lineNo, local, occurredAt);
      if (local.length) {
        problemCount += local.length;
        for (const p of local) if (problems.length < MAX_PROBLEMS) problems.push(p);
        continue;
      }
      if (problemCount) continue;
      group.push(line!);
      if (group.length >= groupSize) {
        yield group;
        group = [];
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code?.startsWith('CSV_')) throw invalid('STATEMENT_INVALID', `the statement is not readable CSV: ${(e as Error).message}`);
    throw e;
  }
  if (problemCount) {
    throw invalid('STATEMENT_INVALID', `the statement has ${problemCount} problem(s); nothing was loaded`, { problems });
  }
  if (group.length) yield group;
}

/** Whether the file has a double quote anywhere: without one, CSV is plain lines of comma-separated fields. */
async function hasQuote(path: string): Promise<boolean> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if ((chunk as Buffer).includes(0x22)) return true;
  }
  return false;
}

/**
 * The fast path of `readStatement` for a provider statement with no quoting
 * (what providers send): lines split on newlines (CRLF too), fields on commas,
 * the same checks and the same errors as the CSV parser's path.
 */
async function* readPlain(path: string, groupSize: number): AsyncGenerator<ParsedLine[]> {
  const problems: LineProblem[] = [];
  let problemCount = 0;
  let group: ParsedLine[] = [];
  let rest = '';
  let lineNo = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const take = (text: string): void => {
    lineNo += 1;
    if (lineNo === 1) return; // the header, checked on receipt
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line === '') return;
    if (line.length > MAX_LINE_BYTES) {
      throw invalid('STATEMENT_INVALID', `the statement is not readable CSV: line ${lineNo} is longer than ${MAX_LINE_BYTES} bytes`);
    }
    const local: LineProblem[] = [];
    const parsed = provider(line.split(','), lineNo, local);
    if (local.length) {
      problemCount += local.length;
      for (const p of local) if (problems.length < MAX_PROBLEMS) problems.push(p);
      return;
    }
    if (!problemCount) group.push(parsed!);
  };
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      const text = rest + decoder.decode(chunk as Buffer, { stream: true });
      let from = 0;
      if (lineNo === 0 && text.charCodeAt(0) === 0xfeff) from = 1;
      for (;;) {
        const nl = text.indexOf('\n', from);
        if (nl === -1) break;
        take(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
      if (rest.length > MAX_LINE_BYTES) {
        throw invalid('STATEMENT_INVALID', `the statement is not readable CSV: line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
      }
      while (group.length >= groupSize) {
        yield group.slice(0, groupSize);
        group = group.slice(groupSize);
      }
    }
    const last = rest + decoder.decode();
    if (last !== '') take(last);
  } catch (e) {
    if (e instanceof TypeError) throw invalid('STATEMENT_ENCODING', 'the statement file is not UTF-8 text');
    throw e;
  }
  if (problemCount) {
    throw invalid('STATEMENT_INVALID', `the statement has ${problemCount} problem(s); nothing was loaded`, { problems });
  }
  if (group.length) yield group;
}
