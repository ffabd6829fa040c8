import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { idlePhase, loginUrl, safeNext } from '../../src/web/app/idle';
import { translate } from '../../src/web/i18n/catalogue';
import { problemText } from '../../src/web/features/imports/problem-text';
import { accountCheckDetail } from '../../src/web/ui/account-check';
import { offlineOpenapiDocument } from '../../src/api-document';
import { hasMessage } from '../../src/web/i18n/catalogue';
import { leftOutDetailText, payPointProblemText } from '../../src/web/features/batches/reason-text';
import {
  compareVietnamese,
  foldVietnamese,
  formatDate,
  formatMoney,
  formatMonth,
  formatMonthRange,
  formatTime,
  matchesVietnamese,
  parseDay,
  formatDay,
  addDays,
  addMonths,
  monthsBetween,
  parseMonth,
} from '../../src/web/ui/format';
import { cashRecipientsCsv } from '../../src/web/features/coverage/cash-list';

describe('console formatting (src/web/ui/format.ts)', () => {
  it('writes whole đồng as 1.234.567 ₫ with a no-break space, from numbers, bigints and decimal strings', () => {
    expect(formatMoney(1234567)).to.equal('1.234.567\u00a0₫');
    expect(formatMoney(0)).to.equal('0\u00a0₫');
    expect(formatMoney(12_000_000_000_000_000n)).to.equal('12.000.000.000.000.000\u00a0₫');
    expect(formatMoney('9007199254740993')).to.equal('9.007.199.254.740.993\u00a0₫');
    expect(() => formatMoney(1.5)).to.throw(RangeError);
    expect(() => formatMoney('12.5')).to.throw(RangeError);
  });

  it('writes dates as dd/MM/yyyy and times as HH:mm in Vietnam’s time zone', () => {
    expect(formatDate('2026-03-05T20:00:00Z')).to.equal('06/03/2026');
    expect(formatDate('2026-12-31T16:59:59Z')).to.equal('31/12/2026');
    expect(formatTime('2026-03-05T20:07:00Z')).to.equal('03:07');
  });

  it('reads a day typed as dd/MM/yyyy into yyyy-MM-dd, and refuses what is no day of the calendar', () => {
    expect(parseDay('15/03/1940')).to.equal('1940-03-15');
    expect(parseDay(' 5/3/2026 ')).to.equal('2026-03-05');
    expect(parseDay('05-03-2026')).to.equal('2026-03-05');
    expect(parseDay('05.03.2026')).to.equal('2026-03-05');
    expect(parseDay('05032026')).to.equal('2026-03-05');
    // pasted from a system in ISO order: the year first cannot be read another way
    expect(parseDay('2026-03-05')).to.equal('2026-03-05');
    expect(parseDay('29/02/2024')).to.equal('2024-02-29');
    expect(parseDay('31/12/2026')).to.equal('2026-12-31');
    expect(parseDay('')).to.equal('');
    expect(parseDay('   ')).to.equal('');
    for (const bad of [
      '29/02/2025',
      '31/04/2026',
      '32/01/2026',
      '00/01/2026',
      '15/13/2026',
      '15/00/2026',
      '15/3/26',
      '3/15',
      'hôm nay',
      '2026-3-5',
      '15/03/0999',
      '1/1/20260',
    ])
      expect(parseDay(bad), bad).to.equal(null);
  });

  it('writes a yyyy-MM-dd day as dd/MM/yyyy, and moves a day across months and years', () => {
    expect(formatDay('1940-03-15')).to.equal('15/03/1940');
    expect(formatDay('')).to.equal('');
    expect(formatDay('not a day')).to.equal('not a day');
    for (const day of ['1940-03-15', '2024-02-29', '2026-12-31']) expect(parseDay(formatDay(day))).to.equal(day);
    expect(addDays('2024-02-28', 1)).to.equal('2024-02-29');
    expect(addDays('2025-02-28', 1)).to.equal('2025-03-01');
    expect(addDays('2026-12-31', 1)).to.equal('2027-01-01');
    expect(addDays('2026-01-01', -1)).to.equal('2025-12-31');
  });

  it('writes months as MM/yyyy, alone or as a range', () => {
    expect(formatMonth('2026-12')).to.equal('12/2026');
    expect(formatMonthRange('2026-01', '2026-01')).to.equal('01/2026');
    expect(formatMonthRange('2025-11', '2026-02')).to.equal('11/2025 – 02/2026');
    expect(formatMonth('soon')).to.equal('soon');
  });

  it('reads a month typed as MM/yyyy into YYYY-MM, and refuses what is no month', () => {
    expect(parseMonth('03/2026')).to.equal('2026-03');
    expect(parseMonth(' 3/2026 ')).to.equal('2026-03');
    expect(parseMonth('12-2026')).to.equal('2026-12');
    expect(parseMonth('2026-03')).to.equal('2026-03');
    expect(parseMonth('')).to.equal('');
    for (const bad of ['13/2026', '00/2026', '3/26', '2026-3', 'tháng 3', '03/2026/01']) expect(parseMonth(bad), bad).to.equal(null);
    for (const m of ['2025-12', '2026-01']) expect(parseMonth(formatMonth(m))).to.equal(m);
  });

  it('counts months across years for a range, both ends included', () => {
    expect(monthsBetween('2025-11', '2026-02')).to.deep.equal(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(monthsBetween('2026-03', '2026-03')).to.deep.equal(['2026-03']);
    expect(monthsBetween('2026-04', '2026-03')).to.deep.equal([]);
    expect(addMonths('2026-01', -1)).to.equal('2025-12');
    expect(addMonths('2025-12', 13)).to.equal('2027-01');
  });

  it('writes the people paid in cash as a spreadsheet-safe CSV with Vietnamese headers and dd/MM/yyyy birth dates', () => {
    const vi = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('vi', key, vars);
    const csv = cashRecipientsCsv(vi, [
      {
        beneficiaryId: '17',
        fullName: '=HYPERLINK("x") Nguyễn Thị Lan',
        nationalId: '0010******12',
        dateOfBirth: '1940-03-15',
        phone: null,
        area: { code: '00004', name: 'Phường Trúc Bạch' },
        programmes: ['TCXH-NCT80', 'TCXH-KT'],
        cashPayments: 2,
        cashAmount: 1_125_000,
        channelsNow: ['CASH'],
      },
    ]);
    expect(csv.startsWith('\uFEFF')).to.equal(true);
    const [header, row, end] = csv.slice(1).split('\n');
    expect(header!.split(',')[0]).to.equal('Mã người hưởng');
    expect(row).to.equal(
      '17,"\'=HYPERLINK(""x"") Nguyễn Thị Lan",0010******12,15/03/1940,,00004,Phường Trúc Bạch,TCXH-NCT80 TCXH-KT,2,1125000,CASH',
    );
    expect(end).to.equal('');
  });

  it('reads server texts in Vietnamese from their codes, and keeps the server text for what it cannot name', () => {
    const vi = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('vi', key, vars);
    expect(
      problemText(vi, { code: 'NATIONAL_ID_FORMAT', column: 'national_id', message: 'national_id must be exactly 12 digits' }),
    ).to.equal('Số định danh cá nhân phải gồm đúng 12 chữ số.');
    expect(problemText(vi, { code: 'MISSING_COLUMN', column: 'gender', message: 'x' })).to.equal('Dòng tiêu đề thiếu cột bắt buộc gender.');
    expect(problemText(vi, { code: 'SOMETHING_NEW', column: null, message: 'as the server said' })).to.equal('as the server said');
    expect(accountCheckDetail(vi, { detail: '19 accounts checked', checked: 19, failed: 0, firstError: null })).to.equal(
      '19 tài khoản đã được kiểm tra.',
    );
    expect(accountCheckDetail(vi, { detail: 'whatever the server says', checked: 1200, failed: 2, firstError: 'timeout' })).to.equal(
      '2/1.200 lượt tra cứu không thành công (lỗi đầu tiên: timeout); hãy chạy kiểm tra lại.',
    );
    // a check recorded before the API gave counts: its sentence as written
    expect(accountCheckDetail(vi, { detail: 'something else', checked: null, failed: null, firstError: null })).to.equal('something else');
    expect(accountCheckDetail(vi, null)).to.equal('');
  });

  it('words the pay points’ refused lines and the left-out facts in Vietnamese from their codes and values', () => {
    const vi = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('vi', key, vars);
    const line = { column: 'reference', reference: 'B7-12', value: null, status: null, message: 'in English' };
    expect(payPointProblemText(vi, { ...line, code: 'UNKNOWN_REFERENCE' })).to.equal('Mã khoản B7-12 không thuộc đợt này.');
    expect(payPointProblemText(vi, { ...line, column: 'paid', code: 'NOT_HANDED_OVER', status: 'pending' })).to.equal(
      'Khoản B7-12 đang ở trạng thái “Chờ gửi”: chưa được bàn giao cho điểm chi trả hoặc đã có kết quả khác.',
    );
    expect(payPointProblemText(vi, { ...line, column: 'paid', code: 'PAID_VALUE', reference: null, value: 'maybe' })).to.equal(
      'Cột paid phải là có hoặc không, không phải "maybe".',
    );
    expect(payPointProblemText(vi, { ...line, column: 'paid', code: 'MISSING_COLUMN', reference: null })).to.equal(
      'Dòng tiêu đề thiếu cột paid.',
    );
    // a code this console does not know yet: the API's own sentence
    expect(payPointProblemText(vi, { ...line, code: 'SOMETHING_NEW' as never })).to.equal('in English');

    const none = {
      otherBatchId: null,
      otherReference: null,
      owed: null,
      paidInLivePayments: null,
      retriedReference: null,
      retriedStatus: null,
      detail: 'in English',
    };
    expect(leftOutDetailText(vi, { ...none, otherBatchId: '41', otherReference: 'B202412AB-7' })).to.equal(
      'Khoản B202412AB-7 của đợt số 41.',
    );
    expect(leftOutDetailText(vi, { ...none, owed: 750_000, paidInLivePayments: 540_000 })).to.equal(
      'Được hưởng 750.000\u00a0₫, các khoản đã chi của tháng cộng lại 540.000\u00a0₫.',
    );
    expect(
      leftOutDetailText(vi, { ...none, otherBatchId: '43', otherReference: 'B9-2', retriedReference: 'B8-2', retriedStatus: 'returned' }),
    ).to.equal('Khoản B9-2 của đợt số 43. Khoản cần chi lại: B8-2 (Bị hoàn trả).');
    expect(leftOutDetailText(vi, none)).to.equal('in English');
  });

  it('has a Vietnamese message for every pay-point problem code and left-out reason the API declares', () => {
    const schemas = (offlineOpenapiDocument() as any).components.schemas;
    const problemCodes: string[] =
      schemas.PayPointResultsRefusal.properties.error.properties.details.properties.problems.items.properties.code.enum;
    const reasons: string[] = schemas.LeftOutPage.properties.items.items.properties.reason.enum;
    expect(problemCodes).to.include('NOT_HANDED_OVER');
    for (const code of problemCodes) expect(hasMessage(`batches.paypoints.problem.${code}`), code).to.equal(true);
    for (const reason of reasons) expect(hasMessage(`batches.leftOut.reason.${reason}`), reason).to.equal(true);
  });

  it('sorts names in Vietnamese order and finds them with or without diacritics', () => {
    const names = ['Đặng Văn Bình', 'Dương Thị An', 'Ân Văn Hải', 'Anh Thị Lụa', 'Ước Văn Tâm', 'Uông Thị Hoa'];
    expect([...names].sort(compareVietnamese)).to.deep.equal([
      'Anh Thị Lụa',
      'Ân Văn Hải',
      'Dương Thị An',
      'Đặng Văn Bình',
      'Uông Thị Hoa',
      'Ước Văn Tâm',
    ]);
    expect(foldVietnamese('  Đặng  Thị Ước ')).to.equal('dang thi uoc');
    expect(matchesVietnamese('Nguyễn Thị Hường', 'thi huong')).to.equal(true);
    expect(matchesVietnamese('Nguyễn Thị Hường', 'Hường')).to.equal(true);
    expect(matchesVietnamese('Nguyễn Thị Hường', 'hung')).to.equal(false);
  });
});

describe('console session clock (src/web/app/idle.ts)', () => {
  const t0 = Date.parse('2026-03-05T08:00:00Z');
  it('is active until a minute before the first deadline, warns in that minute, and has ended at the deadline', () => {
    const idle = t0 + 15 * 60_000;
    const absolute = t0 + 8 * 3600_000;
    expect(idlePhase(t0, idle, absolute).phase).to.equal('active');
    expect(idlePhase(idle - 60_001, idle, absolute).phase).to.equal('active');
    expect(idlePhase(idle - 60_000, idle, absolute)).to.deep.equal({ phase: 'warning', msLeft: 60_000 });
    expect(idlePhase(idle, idle, absolute)).to.deep.equal({ phase: 'ended' });
    // the absolute end comes first when it is nearer
    expect(idlePhase(t0, idle, t0 + 30_000)).to.deep.equal({ phase: 'warning', msLeft: 30_000 });
  });

  it('returns only to a page of this site after login', () => {
    expect(safeNext('/batches/12?tab=items')).to.equal('/batches/12?tab=items');
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/login?next=/x', null, '']) {
      expect(safeNext(bad), String(bad)).to.equal('/');
    }
    expect(loginUrl('/batches/12', 'idle')).to.equal('/login?next=%2Fbatches%2F12&reason=idle');
    expect(loginUrl('/', 'logout')).to.equal('/login?reason=logout');
  });
});

describe('console message catalogues (src/web/i18n and src/web/features/*/messages.*.json)', () => {
  const web = path.join(__dirname, '..', '..', 'src', 'web');
  const parse = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  /** The catalogue files of one language: the core one, then each feature's. */
  const files = (lang: string) => [
    path.join(web, 'i18n', `${lang}.json`),
    ...readdirSync(path.join(web, 'features'))
      .map((f) => path.join(web, 'features', f, `messages.${lang}.json`))
      .filter((f) => existsSync(f)),
  ];
  const merged = (lang: string) => {
    const out: Record<string, string> = {};
    for (const f of files(lang))
      for (const [k, v] of Object.entries(parse(f))) {
        expect(out, `${k} is defined twice (again in ${path.relative(web, f)})`).not.to.have.property(k);
        out[k] = v;
      }
    return out;
  };
  it('name the same messages with the same placeholders in Vietnamese and English, each key once', () => {
    expect(files('en').map((f) => f.replace('.en.', '.vi.').replace('en.json', 'vi.json'))).to.deep.equal(files('vi'));
    const vi = merged('vi');
    const en = merged('en');
    expect(Object.keys(en).sort()).to.deep.equal(Object.keys(vi).sort());
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(vi)) expect(holes(en[key]!), key).to.deep.equal(holes(vi[key]!));
  });

  it('lists every feature catalogue in src/web/i18n/catalogue.ts', () => {
    const catalogue = readFileSync(path.join(web, 'i18n', 'catalogue.ts'), 'utf8');
    for (const f of [...files('vi'), ...files('en')])
      if (f.includes(`${path.sep}features${path.sep}`))
        expect(catalogue, path.relative(web, f)).to.contain(path.relative(path.join(web, 'i18n'), f).split(path.sep).join('/'));
  });
});
