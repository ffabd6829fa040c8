import { stringify } from 'csv-stringify/sync';
import { COLUMNS, type Column } from '../../src/components/beneficiaries/roll-columns';
import { testApp } from './app';
import { call } from './http';

export type RollRecord = Partial<Record<Column, string>>;

let counter = Math.floor(Math.random() * 400_000);

/** A valid roll row for a new person (unique national ID in this run): born 1940, male, bank channel. */
export function person(overrides: RollRecord = {}): RollRecord {
  counter += 1;
  const serial = String(counter).padStart(6, '0');
  return {
    national_id: `0010${'40'}${serial}`,
    full_name: 'Nguyễn Văn An',
    date_of_birth: '1940-03-15',
    gender: 'M',
    area_code: '00001',
    programme_code: 'TCXH-NCT80',
    coefficient: '1.5',
    start_period: '2024-01',
    channel: 'BANK',
    bank_code: '970436',
    account_number: `1020${serial}`,
    account_name: 'NGUYEN VAN AN',
    phone: `09${serial}12`,
    ...overrides,
  };
}

export const DEFAULT_COLUMNS: Column[] = COLUMNS.map((c) => c.key);

export function rollCsv(rows: RollRecord[], columns: string[] = DEFAULT_COLUMNS): string {
  return stringify([columns, ...rows.map((r) => columns.map((c) => r[c as Column] ?? ''))]);
}

export async function upload(token: string, content: string | Buffer, fileName = 'roll.csv') {
  const form = new FormData();
  form.append('file', new Blob([content]), fileName);
  return call('POST', '/api/v1/roll-imports', { token, form });
}

/** Polls the import until it is completed or failed. */
export async function waitForImport(token: string, id: string, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await call('GET', `/api/v1/roll-imports/${id}`, { token });
    if (r.body.status === 'completed' || r.body.status === 'failed') return r.body;
    if (Date.now() > end) throw new Error(`import ${id} still ${r.body.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function problemsOf(
  token: string,
  id: string,
): Promise<{ row: number; column: string | null; code: string; message: string }[]> {
  const r = await call('GET', `/api/v1/roll-imports/${id}/problems?limit=200`, { token });
  return r.body.items;
}

export async function beneficiaryCount(): Promise<number> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT COUNT(*) AS n FROM beneficiaries')) as { n: string }[];
  return Number(row!.n);
}
