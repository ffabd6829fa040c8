import { expect } from 'chai';
import { COLUMNS, mapHeader, type Column } from '../../src/components/beneficiaries/roll-columns';
import type { ReferenceData, RollRow, RowProblem } from '../../src/components/beneficiaries/roll-row';
import { validateRow } from '../../src/components/beneficiaries/roll-validation';
import {
  foldName,
  formatPeriod,
  maskDigits,
  maskNationalId,
  parsePeriod,
  todayInVietnam,
} from '../../src/components/beneficiaries/roll-values';

type Values = Partial<Record<Column, string | undefined>>;

const BANKS = new Set(['970436', '970415', '970418', '970405']);
const PROVIDERS = new Set(['VIETTELMONEY', 'VNPTMONEY', 'MOMO']);
const ref: ReferenceData = { isKnownBank: (b) => BANKS.has(b), isKnownWalletProvider: (c) => PROVIDERS.has(c) };

const NFC_NAME = 'Nguyễn Văn Ánh';
const NFD_NAME = NFC_NAME.normalize('NFD');

function bankRow(over: Values = {}): Values {
  return {
    national_id: '001085123456', // Hà Nội, 1900s male, born '85
    full_name: NFC_NAME,
    date_of_birth: '1985-03-02',
    gender: 'M',
    area_code: '00001',
    programme_code: 'TCXH-NCT80',
    coefficient: '1.5',
    start_period: '2025-01',
    end_period: '',
    channel: 'BANK',
    bank_code: '970436',
    account_number: '0011001234567',
    account_name: 'NGUYEN VAN ANH',
    wallet_provider: '',
    wallet_id: '',
    phone: '0912345678',
    ...over,
  };
}
const walletRow = (over: Values = {}): Values =>
  bankRow({ channel: 'WALLET', bank_code: '', account_number: '', wallet_provider: 'VIETTELMONEY', wallet_id: '0987654321', ...over });
const cashRow = (over: Values = {}): Values => bankRow({ channel: 'CASH', bank_code: '', account_number: '', account_name: '', ...over });

function valid(values: Values): RollRow {
  const { row, problems } = validateRow(values, ref);
  expect(problems, JSON.stringify(problems)).to.deep.equal([]);
  expect(row).to.not.equal(null);
  return row as RollRow;
}
/** The row is refused with exactly one problem, on `column` with `code`; returns it. */
function refused(values: Values, column: Column, code: string): RowProblem {
  const { row, problems } = validateRow(values, ref);
  expect(row).to.equal(null);
  expect(
    problems.map((p) => `${p.column}:${p.code}`),
    JSON.stringify(problems),
  ).to.deep.equal([`${column}:${code}`]);
  const p = problems[0] as RowProblem;
  expect(p.message).to.be.a('string').and.have.length.greaterThan(10);
  return p;
}
const codes = (values: Values): string[] => validateRow(values, ref).problems.map((p) => p.code);

function nidFor(isoDate: string, gender: 'M' | 'F', province = '001', tail = '123456'): string {
  const year = Number(isoDate.slice(0, 4));
  const digit4 = (year >= 2000 ? 2 : 0) + (gender === 'F' ? 1 : 0);
  return `${province}${digit4}${isoDate.slice(2, 4)}${tail}`;
}
const addDays = (iso: string, days: number): string =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe('roll validation', () => {
  describe('COLUMNS', () => {
    it('lists the contract columns in its order with their Vietnamese headers and always-required flags', () => {
      expect(COLUMNS.map((c) => c.key)).to.deep.equal([
        'national_id',
        'full_name',
        'date_of_birth',
        'gender',
        'area_code',
        'programme_code',
        'coefficient',
        'start_period',
        'end_period',
        'channel',
        'bank_code',
        'account_number',
        'account_name',
        'wallet_provider',
        'wallet_id',
        'phone',
      ]);
      expect(COLUMNS.filter((c) => c.required).map((c) => c.key)).to.deep.equal([
        'national_id',
        'full_name',
        'date_of_birth',
        'gender',
        'area_code',
        'programme_code',
        'coefficient',
        'start_period',
        'channel',
      ]);
      expect(COLUMNS.find((c) => c.key === 'channel')?.vi).to.equal('Hình thức nhận');
      for (const c of COLUMNS) expect(c.vi, c.key).to.equal(c.vi.normalize('NFC'));
    });
  });

  describe('mapHeader', () => {
    const english = COLUMNS.map((c) => c.key as string);
    const vietnamese = COLUMNS.map((c) => c.vi);

    it('maps English headers to their positions with no problems', () => {
      const { index, problems } = mapHeader(english);
      expect(problems).to.deep.equal([]);
      COLUMNS.forEach((c, i) => expect(index[c.key], c.key).to.equal(i));
    });

    it('maps Vietnamese headers in NFC', () => {
      const { index, problems } = mapHeader(vietnamese);
      expect(problems).to.deep.equal([]);
      expect(index.national_id).to.equal(0);
      expect(index.phone).to.equal(15);
    });

    it('maps Vietnamese headers in NFD (as some Mac and Excel exports write them)', () => {
      const nfd = vietnamese.map((h) => h.normalize('NFD'));
      expect(nfd[1]).to.not.equal(vietnamese[1]);
      const { index, problems } = mapHeader(nfd);
      expect(problems).to.deep.equal([]);
      expect(index.full_name).to.equal(1);
      expect(index.channel).to.equal(9);
    });

    it('ignores case, surrounding spaces and a leading BOM, and accepts any order and a mix of languages', () => {
      const { index, problems } = mapHeader([
        '\uFEFFSỐ CCCD',
        '  HỌ VÀ TÊN ',
        'Date_Of_Birth',
        'giới tính'.normalize('NFD'),
        'MÃ ĐƠN VỊ HÀNH CHÍNH',
        'programme_code',
        '\tHệ số',
        'CHANNEL',
        'tháng bắt đầu',
      ]);
      expect(problems).to.deep.equal([]);
      expect(index).to.deep.equal({
        national_id: 0,
        full_name: 1,
        date_of_birth: 2,
        gender: 3,
        area_code: 4,
        programme_code: 5,
        coefficient: 6,
        channel: 7,
        start_period: 8,
      });
    });

    it('accepts a header row with only the always-required columns', () => {
      const { problems } = mapHeader(COLUMNS.filter((c) => c.required).map((c) => c.key));
      expect(problems).to.deep.equal([]);
    });

    it('reports an unknown column (a typo must not silently drop data), suggesting the name it resembles', () => {
      const headers = [...english];
      headers[12] = 'account_nme';
      headers[1] = 'Ho va ten';
      const { index, problems } = mapHeader(headers);
      expect(problems.map((p) => [p.code, p.column])).to.deep.equal([
        ['UNKNOWN_COLUMN', 'Ho va ten'],
        ['UNKNOWN_COLUMN', 'account_nme'],
        ['MISSING_COLUMN', 'full_name'],
      ]);
      expect(problems[0]?.message).to.include('Column 2').and.include('full_name').and.include('Họ và tên');
      expect(problems[1]?.message).to.include('Column 13').and.include('account_nme');
      expect(index.account_name).to.equal(undefined);
    });

    it('reports the same column named twice, in the same or the other language, keeping the first position', () => {
      const { index, problems } = mapHeader([...english, 'Số CCCD', 'PHONE']);
      expect(problems.map((p) => [p.code, p.column])).to.deep.equal([
        ['DUPLICATE_COLUMN', 'national_id'],
        ['DUPLICATE_COLUMN', 'phone'],
      ]);
      expect(problems[0]?.message).to.include('columns 1 and 17');
      expect(index.national_id).to.equal(0);
    });

    it('reports each missing always-required column, but not missing optional ones', () => {
      const headers = english.filter((h) => !['coefficient', 'channel', 'phone', 'end_period', 'bank_code'].includes(h));
      const { problems } = mapHeader(headers);
      expect(problems.map((p) => [p.code, p.column])).to.deep.equal([
        ['MISSING_COLUMN', 'coefficient'],
        ['MISSING_COLUMN', 'channel'],
      ]);
      expect(problems[0]?.message).to.include('Hệ số');
    });

    it('reports every header problem at once, including an unnamed column', () => {
      const { problems } = mapHeader([
        '\uFEFFnational_id',
        'full_name',
        'full name',
        'Họ và tên',
        '',
        'gender',
        'area_code',
        'programme_code',
      ]);
      expect(problems.map((p) => [p.code, p.column])).to.deep.equal([
        ['UNKNOWN_COLUMN', 'full name'],
        ['DUPLICATE_COLUMN', 'full_name'],
        ['UNNAMED_COLUMN', null],
        ['MISSING_COLUMN', 'date_of_birth'],
        ['MISSING_COLUMN', 'coefficient'],
        ['MISSING_COLUMN', 'start_period'],
        ['MISSING_COLUMN', 'channel'],
      ]);
      expect(problems[2]?.message).to.include('Column 5');
    });

    it('does not repeat data when the header row is missing and the first row is a person', () => {
      const { problems } = mapHeader(['001085123456', NFC_NAME, '1985-03-02', 'M']);
      const unknown = problems.filter((p) => p.code === 'UNKNOWN_COLUMN');
      expect(unknown).to.have.length(4);
      expect(unknown[0]?.column).to.equal(null);
      expect(unknown[0]?.message).to.include('header row').and.not.include('001085123456');
    });
  });

  describe('validateRow: a whole row', () => {
    it('accepts a BANK row and returns it normalised', () => {
      expect(valid(bankRow())).to.deep.equal({
        nationalId: '001085123456',
        fullName: NFC_NAME,
        dateOfBirth: '1985-03-02',
        gender: 'M',
        areaCode: '00001',
        programmeCode: 'TCXH-NCT80',
        coefficientX100: 150,
        startPeriod: 202501,
        endPeriod: null,
        channel: 'BANK',
        bankCode: '970436',
        accountNumber: '0011001234567',
        accountName: 'NGUYEN VAN ANH',
        walletProvider: null,
        walletId: null,
        phone: '0912345678',
        nameMismatch: false,
      });
    });

    it('accepts a WALLET row', () => {
      const row = valid(walletRow({ wallet_provider: 'momo', end_period: '2025-12' }));
      expect(row).to.include({ channel: 'WALLET', walletProvider: 'MOMO', walletId: '0987654321', bankCode: null, accountNumber: null });
      expect(row.accountName).to.equal('NGUYEN VAN ANH');
      expect(row.endPeriod).to.equal(202512);
    });

    it('accepts a CASH row with no payment columns at all', () => {
      const values = cashRow();
      for (const c of ['bank_code', 'account_number', 'account_name', 'wallet_provider', 'wallet_id', 'phone', 'end_period'] as const)
        delete values[c];
      const row = valid(values);
      expect(row).to.include({
        channel: 'CASH',
        bankCode: null,
        accountNumber: null,
        accountName: null,
        walletProvider: null,
        walletId: null,
        phone: null,
        nameMismatch: false,
      });
    });

    it('trims every value and treats whitespace-only cells as empty', () => {
      const row = valid(
        bankRow({
          national_id: ' 001085123456\t',
          full_name: `  ${NFC_NAME}  `,
          gender: ' m ',
          coefficient: ' 1,5 ',
          end_period: '   ',
          phone: ' \t ',
          account_name: '  nguyen van anh ',
        }),
      );
      expect(row).to.include({ nationalId: '001085123456', fullName: NFC_NAME, coefficientX100: 150, endPeriod: null, phone: null });
      expect(row.accountName).to.equal('NGUYEN VAN ANH');
      expect(codes(bankRow({ full_name: '   ' }))).to.deep.equal(['FULL_NAME_REQUIRED']);
    });

    it('reports every problem of a bad row at once', () => {
      const result = validateRow(
        {
          national_id: '12345',
          full_name: 'Nguyen Van 2',
          date_of_birth: '31/02/1990',
          gender: 'X',
          area_code: '',
          programme_code: 'TCXH NCT80',
          coefficient: '10.01',
          start_period: '2025-13',
          end_period: '2024',
          channel: 'BANK',
          bank_code: '',
          account_number: '12-34',
          account_name: '',
          wallet_provider: 'MOMO',
          wallet_id: '0987654321',
          phone: '12345',
        },
        ref,
      );
      expect(result.row).to.equal(null);
      expect(result.problems.map((p) => `${p.column}:${p.code}`)).to.have.members([
        'national_id:NATIONAL_ID_FORMAT',
        'full_name:FULL_NAME_CHARACTERS',
        'date_of_birth:DATE_OF_BIRTH_INVALID_DATE',
        'gender:GENDER_INVALID',
        'area_code:AREA_CODE_REQUIRED',
        'programme_code:PROGRAMME_CODE_FORMAT',
        'coefficient:COEFFICIENT_OUT_OF_RANGE',
        'start_period:START_PERIOD_FORMAT',
        'end_period:END_PERIOD_FORMAT',
        'bank_code:BANK_CODE_REQUIRED',
        'account_number:ACCOUNT_NUMBER_FORMAT',
        'account_name:ACCOUNT_NAME_REQUIRED',
        'wallet_provider:WALLET_PROVIDER_NOT_ALLOWED',
        'wallet_id:WALLET_ID_NOT_ALLOWED',
        'phone:PHONE_FORMAT',
      ]);
      for (const p of result.problems) expect(p.code, p.code).to.match(/^[A-Z][A-Z0-9_]{2,39}$/);
    });

    it('reports every required column of an empty row', () => {
      expect(validateRow({}, ref).problems.map((p) => p.code)).to.deep.equal([
        'NATIONAL_ID_REQUIRED',
        'FULL_NAME_REQUIRED',
        'DATE_OF_BIRTH_REQUIRED',
        'GENDER_REQUIRED',
        'AREA_CODE_REQUIRED',
        'PROGRAMME_CODE_REQUIRED',
        'COEFFICIENT_REQUIRED',
        'START_PERIOD_REQUIRED',
        'CHANNEL_REQUIRED',
      ]);
    });

    it('never repeats a national ID, account number, wallet id or phone in a message', () => {
      const secrets = {
        national_id: '0010851234567', // 13 digits
        account_number: '00110012345678901234', // 20 digits
        wallet_id: '98765432101',
        phone: '+84912345678',
        bank_code: '0011001234567', // an account number in the bank column (columns swapped)
        area_code: '001085123456789012', // an ID in the area column
        coefficient: '0011001234567',
      };
      const messages = [
        ...validateRow(bankRow(secrets), ref).problems,
        ...validateRow(walletRow({ ...secrets, bank_code: '', account_number: '' }), ref).problems,
      ].map((p) => p.message);
      expect(messages.length).to.be.greaterThan(6);
      for (const m of messages) for (const s of Object.values(secrets)) expect(m).to.not.include(s.replace('+', ''));
      for (const m of messages) expect(m).to.not.match(/\d{7}/, m);
    });
  });

  describe('national_id', () => {
    it('is required', () => {
      refused(bankRow({ national_id: '' }), 'national_id', 'NATIONAL_ID_REQUIRED');
      refused(bankRow({ national_id: undefined }), 'national_id', 'NATIONAL_ID_REQUIRED');
    });

    it('must be exactly 12 digits', () => {
      refused(bankRow({ national_id: '0010851234567' }), 'national_id', 'NATIONAL_ID_FORMAT');
      refused(bankRow({ national_id: '001 085 123 456' }), 'national_id', 'NATIONAL_ID_FORMAT');
      refused(bankRow({ national_id: '00108512345A' }), 'national_id', 'NATIONAL_ID_FORMAT');
      refused(bankRow({ national_id: '００１０８５１２３４５６' }), 'national_id', 'NATIONAL_ID_FORMAT');
    });

    it('explains lost leading zeros and scientific notation, the usual Excel damage', () => {
      const zeros = refused(bankRow({ national_id: '1085123456' }), 'national_id', 'NATIONAL_ID_FORMAT');
      expect(zeros.message).to.include('10 digits').and.include('leading zeros').and.not.include('1085123456');
      const sci = refused(bankRow({ national_id: '1.08512E+11' }), 'national_id', 'NATIONAL_ID_FORMAT');
      expect(sci.message).to.include('scientific notation');
    });

    it('accepts each century/sex digit 0-3 that agrees with the date of birth and gender', () => {
      expect(valid(bankRow({ national_id: '001085123456', date_of_birth: '1985-03-02', gender: 'M' })).nationalId).to.equal('001085123456');
      valid(bankRow({ national_id: '079190000001', date_of_birth: '1990-12-31', gender: 'F' }));
      valid(bankRow({ national_id: '024205000002', date_of_birth: '2005-01-01', gender: 'M' }));
      valid(bankRow({ national_id: '001300999999', date_of_birth: '2000-02-29', gender: 'F' }));
      valid(bankRow({ national_id: '001000000000', date_of_birth: '1900-01-01', gender: 'M' }));
    });

    it('refuses century digits 4 and 5 (born in the 2100s) and 6-9 (no such code)', () => {
      for (const d of ['4', '5', '6', '7', '8', '9']) {
        const p = refused(bankRow({ national_id: `001${d}85123456` }), 'national_id', 'NATIONAL_ID_CENTURY_DIGIT');
        expect(p.message).to.include(`4th digit`).and.not.include(`001${d}85123456`);
      }
      expect(refused(bankRow({ national_id: '001485123456' }), 'national_id', 'NATIONAL_ID_CENTURY_DIGIT').message).to.include('2100s');
    });

    it('refuses a 2000s ID whose year of birth has not happened yet', () => {
      const nextYear = (Number(todayInVietnam().slice(0, 4)) + 1) % 100;
      const id = `0012${String(nextYear).padStart(2, '0')}123456`;
      expect(codes(bankRow({ national_id: id, date_of_birth: '', gender: 'M' }))).to.deep.equal([
        'DATE_OF_BIRTH_REQUIRED',
        'NATIONAL_ID_FUTURE_BIRTH_YEAR',
      ]);
    });

    it('reports a year of birth that disagrees with date_of_birth on national_id, naming date_of_birth', () => {
      const p = refused(bankRow({ national_id: '001086123456' }), 'national_id', 'NATIONAL_ID_DOB_MISMATCH');
      expect(p.message).to.include('date_of_birth').and.include('1986').and.include('1985');
    });

    it('reports a century that disagrees with date_of_birth (1900s ID, 2000s birth and the reverse)', () => {
      refused(bankRow({ national_id: '001005123456', date_of_birth: '2005-03-02' }), 'national_id', 'NATIONAL_ID_DOB_MISMATCH');
      refused(bankRow({ national_id: '001205123456', date_of_birth: '1905-03-02' }), 'national_id', 'NATIONAL_ID_DOB_MISMATCH');
    });

    it('reports a sex digit that disagrees with gender on national_id, naming gender', () => {
      const p = refused(bankRow({ national_id: '001185123456', gender: 'M' }), 'national_id', 'NATIONAL_ID_GENDER_MISMATCH');
      expect(p.message).to.include('gender').and.include('female');
      const q = refused(
        bankRow({ national_id: '001205123456', date_of_birth: '2005-01-01', gender: 'F' }),
        'national_id',
        'NATIONAL_ID_GENDER_MISMATCH',
      );
      expect(q.message).to.include('male').and.not.include('001205123456');
    });

    it('reports both disagreements at once, and none when the other field is itself invalid', () => {
      expect(codes(bankRow({ national_id: '001186123456', gender: 'M' }))).to.deep.equal([
        'NATIONAL_ID_DOB_MISMATCH',
        'NATIONAL_ID_GENDER_MISMATCH',
      ]);
      expect(codes(bankRow({ national_id: '001186123456', gender: 'X', date_of_birth: 'yesterday' }))).to.deep.equal([
        'DATE_OF_BIRTH_FORMAT',
        'GENDER_INVALID',
      ]);
    });

    it('does not validate the province digits beyond being digits', () => {
      valid(bankRow({ national_id: '999085123456' }));
      valid(bankRow({ national_id: '000085123456' }));
    });
  });

  describe('full_name', () => {
    it('is required', () => refused(bankRow({ full_name: '' }), 'full_name', 'FULL_NAME_REQUIRED'));

    it('is stored NFC, trimmed, inner spaces collapsed, whatever form it came in', () => {
      expect(NFD_NAME).to.not.equal(NFC_NAME);
      expect(valid(bankRow({ full_name: NFD_NAME })).fullName).to.equal(NFC_NAME);
      expect(valid(bankRow({ full_name: ' Nguyễn  Văn\u00a0\tÁnh ' })).fullName).to.equal(NFC_NAME);
    });

    it("accepts letters of any script, spaces and . ' -", () => {
      valid(bankRow({ full_name: "Đặng Thị Thu-Hà O'Neil Jr." }));
      valid(bankRow({ full_name: 'Иван Петров', account_name: 'IVAN PETROV' }));
      valid(bankRow({ full_name: 'Lò Văn Páo' }));
      valid(bankRow({ full_name: 'A' }));
    });

    it('accepts 100 characters and refuses 101', () => {
      valid(bankRow({ full_name: 'Ễ'.repeat(100) }));
      valid(bankRow({ full_name: 'Ễ'.normalize('NFD').repeat(100) }));
      const p = refused(bankRow({ full_name: 'a'.repeat(101) }), 'full_name', 'FULL_NAME_TOO_LONG');
      expect(p.message).to.include('100').and.include('101');
    });

    it('refuses digits and other symbols, naming them', () => {
      const p = refused(bankRow({ full_name: 'Nguyễn Văn 2 (Ánh)' }), 'full_name', 'FULL_NAME_CHARACTERS');
      expect(p.message).to.include('"2"').and.include('"("');
      refused(bankRow({ full_name: 'Nguyễn_Văn' }), 'full_name', 'FULL_NAME_CHARACTERS');
      refused(bankRow({ full_name: 'Nguyễn\u200bVăn' }), 'full_name', 'FULL_NAME_CHARACTERS');
      expect(refused(bankRow({ full_name: 'Nguyễn\u200bVăn' }), 'full_name', 'FULL_NAME_CHARACTERS').message).to.include('U+200B');
    });

    it('refuses a name with no letter', () => refused(bankRow({ full_name: "- . '" }), 'full_name', 'FULL_NAME_NO_LETTER'));

    it('refuses a name that does not begin with a letter (a leading - is a formula to a spreadsheet), naming the column', () => {
      const p = refused(bankRow({ full_name: '-Nguyễn Văn Ánh' }), 'full_name', 'FULL_NAME_START');
      expect(p.message).to.include('full_name').and.include('"-"');
      for (const v of ['=HYPERLINK("http://x")', '+84 Ánh', '@SUM(A1)'])
        refused(bankRow({ full_name: v }), 'full_name', 'FULL_NAME_CHARACTERS');
      refused(bankRow({ full_name: "'Nguyễn Văn Ánh" }), 'full_name', 'FULL_NAME_START');
      refused(bankRow({ full_name: 'Nguyễn\u0000Văn' }), 'full_name', 'FULL_NAME_CHARACTERS');
    });
  });

  describe('date_of_birth', () => {
    it('accepts YYYY-MM-DD, DD/MM/YYYY and D/M/YYYY and returns ISO', () => {
      expect(valid(bankRow({ date_of_birth: '1985-03-02' })).dateOfBirth).to.equal('1985-03-02');
      expect(valid(bankRow({ date_of_birth: '02/03/1985' })).dateOfBirth).to.equal('1985-03-02');
      expect(valid(bankRow({ date_of_birth: '2/3/1985' })).dateOfBirth).to.equal('1985-03-02');
      expect(valid(bankRow({ date_of_birth: '25/12/1985' })).dateOfBirth).to.equal('1985-12-25');
    });

    it('is required', () => refused(bankRow({ date_of_birth: ' ' }), 'date_of_birth', 'DATE_OF_BIRTH_REQUIRED'));

    it('refuses other formats', () => {
      for (const v of ['1985/03/02', '02-03-1985', '1985-3-2', '02.03.1985', '31121985', '2/3/85', 'March 2, 1985', '31055'])
        refused(bankRow({ date_of_birth: v }), 'date_of_birth', 'DATE_OF_BIRTH_FORMAT');
    });

    it('refuses dates that are not on the calendar, leap years included', () => {
      for (const v of ['1985-02-29', '29/02/1900', '31/04/1985', '1985-13-01', '00/01/1985', '1985-01-32', '1985-00-10'])
        refused(bankRow({ date_of_birth: v }), 'date_of_birth', 'DATE_OF_BIRTH_INVALID_DATE');
      valid(bankRow({ national_id: nidFor('2000-02-29', 'M'), date_of_birth: '29/02/2000' }));
      valid(bankRow({ national_id: nidFor('1988-02-29', 'M'), date_of_birth: '1988-02-29' }));
    });

    it('accepts today (in Vietnam) and 1900-01-01, refuses tomorrow and 1899-12-31', () => {
      const today = todayInVietnam();
      valid(bankRow({ national_id: nidFor(today, 'F'), gender: 'F', date_of_birth: today }));
      valid(bankRow({ national_id: nidFor('1900-01-01', 'M'), date_of_birth: '1900-01-01' }));
      const tomorrow = addDays(today, 1);
      expect(codes(bankRow({ national_id: nidFor(today, 'M'), date_of_birth: tomorrow }))).to.deep.equal(['DATE_OF_BIRTH_IN_FUTURE']);
      refused(bankRow({ national_id: '001000123456', date_of_birth: '31/12/1899' }), 'date_of_birth', 'DATE_OF_BIRTH_BEFORE_1900');
    });

    it('takes "today" from the Vietnamese calendar (UTC+7)', () => {
      expect(todayInVietnam(Date.UTC(2024, 11, 31, 16, 59, 59, 999))).to.equal('2024-12-31');
      expect(todayInVietnam(Date.UTC(2024, 11, 31, 17, 0, 0, 0))).to.equal('2025-01-01');
      expect(todayInVietnam(Date.UTC(2024, 11, 31, 16, 0, 0, 0))).to.equal('2024-12-31');
    });
  });

  describe('gender', () => {
    it('accepts M/F and Nam/Nữ in any case, Nữ in NFC or NFD, and Nu without diacritic', () => {
      for (const v of ['M', 'm', 'Nam', 'NAM', 'nam']) expect(valid(bankRow({ gender: v })).gender, v).to.equal('M');
      const female = { national_id: '001185123456' };
      for (const v of ['F', 'f', 'Nữ', 'NỮ', 'nữ', 'Nữ'.normalize('NFD'), 'Nu', 'NU'])
        expect(valid(bankRow({ ...female, gender: v })).gender, v).to.equal('F');
    });

    it('is required and refuses anything else', () => {
      refused(bankRow({ gender: '' }), 'gender', 'GENDER_REQUIRED');
      for (const v of ['X', 'Male', 'Nư', 'Nũ', '0', 'Nam Nữ']) refused(bankRow({ gender: v }), 'gender', 'GENDER_INVALID');
    });
  });

  describe('area_code and programme_code', () => {
    it('accepts 1-16 letters or digits as area_code, as written', () => {
      expect(valid(bankRow({ area_code: '0' })).areaCode).to.equal('0');
      expect(valid(bankRow({ area_code: 'Ab12345678901234' })).areaCode).to.equal('Ab12345678901234');
    });

    it('refuses an empty, long or punctuated area_code', () => {
      refused(bankRow({ area_code: '' }), 'area_code', 'AREA_CODE_REQUIRED');
      refused(bankRow({ area_code: 'A'.repeat(17) }), 'area_code', 'AREA_CODE_FORMAT');
      refused(bankRow({ area_code: '001-23' }), 'area_code', 'AREA_CODE_FORMAT');
      refused(bankRow({ area_code: 'Xã 1' }), 'area_code', 'AREA_CODE_FORMAT');
    });

    it('accepts 1-32 of letters, digits, _ and - as programme_code and upper-cases it', () => {
      expect(valid(bankRow({ programme_code: 'tcxh-nct80' })).programmeCode).to.equal('TCXH-NCT80');
      expect(valid(bankRow({ programme_code: 'a_B-1'.padEnd(32, 'x') })).programmeCode).to.equal('A_B-1'.padEnd(32, 'X'));
    });

    it('refuses an empty, long or otherwise spelt programme_code', () => {
      refused(bankRow({ programme_code: '' }), 'programme_code', 'PROGRAMME_CODE_REQUIRED');
      refused(bankRow({ programme_code: 'A'.repeat(33) }), 'programme_code', 'PROGRAMME_CODE_FORMAT');
      refused(bankRow({ programme_code: 'TCXH NCT80' }), 'programme_code', 'PROGRAMME_CODE_FORMAT');
      refused(bankRow({ programme_code: 'TCXH.NCT80' }), 'programme_code', 'PROGRAMME_CODE_FORMAT');
      refused(bankRow({ programme_code: 'CHẾ-ĐỘ' }), 'programme_code', 'PROGRAMME_CODE_FORMAT');
    });
  });

  describe('coefficient', () => {
    const x100 = (v: string): number => valid(bankRow({ coefficient: v })).coefficientX100;

    it('gives hundredths computed from the digits', () => {
      expect(x100('1.15')).to.equal(115);
      expect(x100('2,5')).to.equal(250);
      expect(x100('10')).to.equal(1000);
      expect(x100('10.00')).to.equal(1000);
      expect(x100('0.5')).to.equal(50);
      expect(x100('0,50')).to.equal(50);
      expect(x100('1')).to.equal(100);
      expect(x100('01.05')).to.equal(105);
      expect(x100('4.35')).to.equal(435);
    });

    it('is exact for every value from 0.50 to 10.00 (no float rounding)', () => {
      for (let h = 50; h <= 1000; h++) {
        const text = `${Math.floor(h / 100)}.${String(h % 100).padStart(2, '0')}`;
        expect(x100(text), text).to.equal(h);
      }
    });

    it('refuses values outside 0.5-10', () => {
      for (const v of ['10.01', '0.49', '0', '11', '100', '0010.5'])
        refused(bankRow({ coefficient: v }), 'coefficient', 'COEFFICIENT_OUT_OF_RANGE');
    });

    it('refuses more than 2 decimals, including the thousands-separator look-alikes 1.500 and 1,000', () => {
      for (const v of ['1.155', '1.500', '1,000']) refused(bankRow({ coefficient: v }), 'coefficient', 'COEFFICIENT_PRECISION');
    });

    it('refuses what is not a decimal number', () => {
      for (const v of ['abc', '1.5.1', '-1', '1 5', '.5', '1.', '1e1', '1,5%', '+2'])
        refused(bankRow({ coefficient: v }), 'coefficient', 'COEFFICIENT_FORMAT');
      refused(bankRow({ coefficient: '' }), 'coefficient', 'COEFFICIENT_REQUIRED');
    });
  });

  describe('periods', () => {
    it('parsePeriod reads YYYY-MM with month 01-12 and year 1900-2999', () => {
      expect(parsePeriod('2024-12')).to.equal(202412);
      expect(parsePeriod('1900-01')).to.equal(190001);
      expect(parsePeriod('2999-12')).to.equal(299912);
      for (const v of ['1899-12', '3000-01', '2024-00', '2024-13', '2024-1', '202412', '12/2024', '2024-12-01', ' 2024-12', ''])
        expect(parsePeriod(v), v).to.equal(null);
    });

    it('formatPeriod writes YYYY-MM and round-trips parsePeriod', () => {
      expect(formatPeriod(202412)).to.equal('2024-12');
      expect(formatPeriod(190001)).to.equal('1900-01');
      for (const p of ['2025-01', '2025-10', '2999-09']) expect(formatPeriod(parsePeriod(p) as number)).to.equal(p);
    });

    it('requires start_period, leaves end_period optional and accepts end equal to start', () => {
      expect(valid(bankRow({ start_period: '2025-03', end_period: '' }))).to.include({ startPeriod: 202503, endPeriod: null });
      expect(valid(bankRow({ start_period: '2025-03', end_period: '2025-03' }))).to.include({ startPeriod: 202503, endPeriod: 202503 });
      refused(bankRow({ start_period: '' }), 'start_period', 'START_PERIOD_REQUIRED');
    });

    it('refuses malformed periods and an end before the start', () => {
      refused(bankRow({ start_period: '03/2025' }), 'start_period', 'START_PERIOD_FORMAT');
      refused(bankRow({ end_period: '2025-13' }), 'end_period', 'END_PERIOD_FORMAT');
      const p = refused(bankRow({ start_period: '2025-03', end_period: '2025-02' }), 'end_period', 'END_PERIOD_BEFORE_START');
      expect(p.message).to.include('2025-02').and.include('2025-03');
    });
  });

  describe('channel', () => {
    it('accepts BANK/WALLET/CASH and the Vietnamese names, in any case, NFC or NFD, with or without diacritics', () => {
      const cases: [string, 'BANK' | 'WALLET' | 'CASH'][] = [
        ['BANK', 'BANK'],
        ['bank', 'BANK'],
        ['Ngân hàng', 'BANK'],
        ['NGÂN HÀNG', 'BANK'],
        ['Ngân hàng'.normalize('NFD'), 'BANK'],
        ['ngan hang', 'BANK'],
        ['Ngân  hàng', 'BANK'],
        ['Wallet', 'WALLET'],
        ['Ví điện tử', 'WALLET'],
        ['VÍ ĐIỆN TỬ', 'WALLET'],
        ['Ví điện tử'.normalize('NFD'), 'WALLET'],
        ['Vi dien tu', 'WALLET'],
        ['cash', 'CASH'],
        ['Tiền mặt', 'CASH'],
        ['Tiền mặt'.normalize('NFD'), 'CASH'],
        ['TIEN MAT', 'CASH'],
      ];
      for (const [text, channel] of cases) {
        const base = channel === 'BANK' ? bankRow() : channel === 'WALLET' ? walletRow() : cashRow();
        expect(valid({ ...base, channel: text }).channel, text).to.equal(channel);
      }
    });

    it('is required and refuses anything else', () => {
      refused(bankRow({ channel: '' }), 'channel', 'CHANNEL_REQUIRED');
      for (const v of ['TRANSFER', 'Ngân', 'ví', 'Chuyển khoản']) refused(bankRow({ channel: v }), 'channel', 'CHANNEL_INVALID');
    });

    it('still checks the payment columns that are filled in when the channel is unknown', () => {
      expect(codes(bankRow({ channel: 'TRANSFER', bank_code: '123456', phone: '' }))).to.deep.equal([
        'CHANNEL_INVALID',
        'BANK_CODE_UNKNOWN',
      ]);
    });
  });

  describe('BANK', () => {
    it('requires bank_code, account_number and account_name', () => {
      refused(bankRow({ bank_code: '' }), 'bank_code', 'BANK_CODE_REQUIRED');
      refused(bankRow({ account_number: '' }), 'account_number', 'ACCOUNT_NUMBER_REQUIRED');
      refused(bankRow({ account_name: ' ' }), 'account_name', 'ACCOUNT_NAME_REQUIRED');
    });

    it('requires a 6-digit bank_code of a known bank', () => {
      refused(bankRow({ bank_code: '97043' }), 'bank_code', 'BANK_CODE_FORMAT');
      refused(bankRow({ bank_code: 'VCB' }), 'bank_code', 'BANK_CODE_FORMAT');
      const p = refused(bankRow({ bank_code: '970999' }), 'bank_code', 'BANK_CODE_UNKNOWN');
      expect(p.message).to.include('970999');
      expect(valid(bankRow({ bank_code: '970405' })).bankCode).to.equal('970405');
    });

    it('accepts an account_number of 6 to 19 digits, leading zeros kept', () => {
      expect(valid(bankRow({ account_number: '000123' })).accountNumber).to.equal('000123');
      expect(valid(bankRow({ account_number: '1'.repeat(19) })).accountNumber).to.equal('1'.repeat(19));
    });

    it('refuses an account_number that is short, long or not only digits, without repeating it', () => {
      for (const v of ['12345', '1'.repeat(20), '0011 0012 3456', '0011-001234', '1.23457E+12']) {
        const p = refused(bankRow({ account_number: v }), 'account_number', 'ACCOUNT_NUMBER_FORMAT');
        expect(p.message).to.not.include(v);
      }
    });

    it('refuses wallet columns on a BANK row', () => {
      refused(bankRow({ wallet_provider: 'MOMO' }), 'wallet_provider', 'WALLET_PROVIDER_NOT_ALLOWED');
      const p = refused(bankRow({ wallet_id: '0987654321' }), 'wallet_id', 'WALLET_ID_NOT_ALLOWED');
      expect(p.message).to.include('BANK').and.not.include('0987654321');
    });
  });

  describe('WALLET', () => {
    it('requires wallet_provider, wallet_id and account_name', () => {
      refused(walletRow({ wallet_provider: '' }), 'wallet_provider', 'WALLET_PROVIDER_REQUIRED');
      refused(walletRow({ wallet_id: '' }), 'wallet_id', 'WALLET_ID_REQUIRED');
      refused(walletRow({ account_name: '' }), 'account_name', 'ACCOUNT_NAME_REQUIRED');
    });

    it('upper-cases the provider and requires a known one', () => {
      expect(valid(walletRow({ wallet_provider: 'vnptMoney' })).walletProvider).to.equal('VNPTMONEY');
      const p = refused(walletRow({ wallet_provider: 'ZALOPAY' }), 'wallet_provider', 'WALLET_PROVIDER_UNKNOWN');
      expect(p.message).to.include('ZALOPAY');
    });

    it('requires a wallet_id of 10 digits starting with 0, explaining a lost leading 0', () => {
      for (const v of ['1987654321', '098765432', '09876543210', '0987 654 321', '+84987654321'])
        refused(walletRow({ wallet_id: v }), 'wallet_id', 'WALLET_ID_FORMAT');
      expect(refused(walletRow({ wallet_id: '987654321' }), 'wallet_id', 'WALLET_ID_FORMAT').message).to.include('leading zeros');
    });

    it('refuses bank columns on a WALLET row', () => {
      refused(walletRow({ bank_code: '970436' }), 'bank_code', 'BANK_CODE_NOT_ALLOWED');
      refused(walletRow({ account_number: '0011001234567' }), 'account_number', 'ACCOUNT_NUMBER_NOT_ALLOWED');
    });
  });

  describe('CASH', () => {
    it('refuses bank columns, wallet columns and account_name', () => {
      expect(
        codes(
          cashRow({
            bank_code: '970436',
            account_number: '0011001234567',
            account_name: 'NGUYEN VAN ANH',
            wallet_provider: 'MOMO',
            wallet_id: '0987654321',
          }),
        ),
      ).to.deep.equal([
        'BANK_CODE_NOT_ALLOWED',
        'ACCOUNT_NUMBER_NOT_ALLOWED',
        'ACCOUNT_NAME_NOT_ALLOWED',
        'WALLET_PROVIDER_NOT_ALLOWED',
        'WALLET_ID_NOT_ALLOWED',
      ]);
    });
  });

  describe('account_name', () => {
    it('is stored upper-case without diacritics', () => {
      expect(valid(bankRow({ account_name: 'Nguyễn Văn Ánh' })).accountName).to.equal('NGUYEN VAN ANH');
      expect(valid(bankRow({ account_name: NFD_NAME })).accountName).to.equal('NGUYEN VAN ANH');
      const row = valid(bankRow({ full_name: 'Đỗ Thị Đào', account_name: '  đỗ  thị  đào ', national_id: '001185123456', gender: 'F' }));
      expect(row.accountName).to.equal('DO THI DAO');
      expect(row.nameMismatch).to.equal(false);
    });

    it('flags a name that differs from full_name, ignoring case and diacritics, without refusing the row', () => {
      expect(valid(bankRow({ account_name: 'NGUYEN VAN ANH' })).nameMismatch).to.equal(false);
      expect(valid(bankRow({ full_name: NFD_NAME, account_name: 'nguyễn văn ánh' })).nameMismatch).to.equal(false);
      const row = valid(bankRow({ account_name: 'NGUYEN VAN BINH' }));
      expect(row.nameMismatch).to.equal(true);
      expect(row.accountName).to.equal('NGUYEN VAN BINH');
      expect(valid(walletRow({ account_name: 'TRAN THI C' })).nameMismatch).to.equal(true);
    });

    it('accepts 100 characters and refuses 101', () => {
      valid(bankRow({ account_name: 'Ấ'.repeat(100) }));
      refused(bankRow({ account_name: 'A'.repeat(101) }), 'account_name', 'ACCOUNT_NAME_TOO_LONG');
    });

    it('refuses a name beginning with = + - @ (a spreadsheet formula) or holding control characters, naming the column', () => {
      for (const v of ['=HYPERLINK("http://evil","x")', '+NGUYEN VAN ANH', '-NGUYEN VAN ANH', '@SUM(A1)', ' \t=1+1']) {
        const p = refused(bankRow({ account_name: v }), 'account_name', 'ACCOUNT_NAME_START');
        expect(p.message).to.include('account_name');
      }
      refused(walletRow({ account_name: '=1+1' }), 'account_name', 'ACCOUNT_NAME_START');
      const p = refused(bankRow({ account_name: 'NGUYEN\u0007VAN\u001bANH' }), 'account_name', 'ACCOUNT_NAME_CHARACTERS');
      expect(p.message).to.include('U+0007').and.include('U+001B');
      refused(bankRow({ account_name: 'NGUYEN\u202eVAN ANH' }), 'account_name', 'ACCOUNT_NAME_CHARACTERS');
    });
  });

  describe('phone', () => {
    it('is optional and, when given, 10 digits starting with 0', () => {
      expect(valid(bankRow({ phone: '' })).phone).to.equal(null);
      expect(valid(bankRow({ phone: undefined })).phone).to.equal(null);
      expect(valid(bankRow({ phone: '0312345678' })).phone).to.equal('0312345678');
    });

    it('refuses other numbers without repeating them', () => {
      for (const v of ['912345678', '1912345678', '09123456789', '0912 345 678', '+84912345678', '84912345678']) {
        const p = refused(bankRow({ phone: v }), 'phone', 'PHONE_FORMAT');
        expect(p.message).to.not.include(v);
      }
      expect(refused(bankRow({ phone: '+84912345678' }), 'phone', 'PHONE_FORMAT').message).to.include('+84');
    });
  });

  describe('foldName', () => {
    it('lower-cases, removes diacritics, maps đ/Đ to d and collapses spaces', () => {
      expect(foldName('Nguyễn Văn  Ánh')).to.equal('nguyen van anh');
      expect(foldName('Đặng Thị Đào')).to.equal('dang thi dao');
      expect(foldName('ĐỖ ĐỨC ĐẠT')).to.equal('do duc dat');
      expect(foldName('đinh')).to.equal('dinh');
      expect(foldName(' Trần\tThị\u00a0Ngọc  Ẩn ')).to.equal('tran thi ngoc an');
      expect(foldName('Phạm Hương Ước')).to.equal('pham huong uoc');
      expect(foldName('John  SMITH')).to.equal('john smith');
      expect(foldName('')).to.equal('');
    });

    it('folds every Latin and Vietnamese letter exactly as NFD without marks would', () => {
      const slow = (t: string): string => t.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[đð]/g, 'd');
      const vowels = 'aăâeêioôơuưy';
      const letters: string[] = [];
      for (const v of vowels + vowels.toUpperCase())
        for (const tone of ['', '\u0300', '\u0301', '\u0303', '\u0309', '\u0323']) letters.push((v + tone).normalize('NFC'));
      for (let cp = 0x80; cp <= 0x24f; cp++) letters.push(String.fromCharCode(cp));
      for (let cp = 0x1e00; cp <= 0x1eff; cp++) letters.push(String.fromCharCode(cp));
      for (const l of letters) {
        if (/\s/.test(l)) continue;
        expect(foldName(`x${l}y`), `U+${l.codePointAt(0)?.toString(16)}`).to.equal(slow(`x${l}y`));
      }
      expect(
        letters
          .filter((l) => /[\u1ea0-\u1ef9]/.test(l))
          .map(foldName)
          .join(''),
      ).to.match(/^[a-z]+$/);
    });

    it('gives the same result for NFC and NFD input, and for Ð (eth) typed for Đ', () => {
      expect(foldName(NFD_NAME)).to.equal(foldName(NFC_NAME));
      expect(foldName('Đặng'.normalize('NFD'))).to.equal('dang');
      expect(foldName('\u00d0ặng')).to.equal('dang');
    });
  });

  describe('masking', () => {
    it('maskNationalId keeps the first 4 and last 2 digits', () => {
      expect(maskNationalId('001234567889')).to.equal('0012******89');
    });

    it('maskDigits masks the middle, and all of a value too short to hide anything', () => {
      expect(maskDigits('0912345678', 3, 3)).to.equal('091****678');
      expect(maskDigits('0011001234567', 0, 4)).to.equal('*********4567');
      expect(maskDigits('123456', 3, 3)).to.equal('******');
      expect(maskDigits('12', 4, 2)).to.equal('**');
      expect(maskDigits('', 1, 1)).to.equal('');
    });
  });

  describe('speed', () => {
    it('validates 100,000 generated valid rows in under 2 seconds', () => {
      const names = ['Nguyễn Văn Ánh', 'Trần Thị Bích Ngọc', 'Lê Hoàng Đức', 'Phạm Thị Hương', 'Đỗ Minh Quân'];
      const rows: Values[] = [];
      for (let i = 0; i < 100_000; i++) {
        const female = i % 2 === 1;
        const year = 1930 + (i % 90);
        const dob = `${year}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
        const name = names[i % names.length] as string;
        const base = {
          national_id: nidFor(dob, female ? 'F' : 'M', String(i % 97).padStart(3, '0'), String(i).padStart(6, '0')),
          full_name: i % 10 === 0 ? name.normalize('NFD') : name,
          date_of_birth: i % 3 === 0 ? `${dob.slice(8)}/${dob.slice(5, 7)}/${year}` : dob,
          gender: female ? (i % 4 === 1 ? 'Nữ' : 'F') : i % 4 === 0 ? 'Nam' : 'M',
          area_code: String(10000 + (i % 10000)),
          programme_code: 'TCXH-NCT80',
          coefficient: i % 2 === 0 ? '1.5' : '2,25',
          start_period: '2025-01',
          end_period: i % 5 === 0 ? '2025-12' : '',
          phone: `09${String(i).padStart(8, '0')}`,
        };
        const channel = i % 3;
        const src: Values =
          channel === 0
            ? { ...base, channel: 'BANK', bank_code: '970436', account_number: `0011${String(i).padStart(9, '0')}`, account_name: name }
            : channel === 1
              ? {
                  ...base,
                  channel: 'Ví điện tử',
                  wallet_provider: 'viettelmoney',
                  wallet_id: `03${String(i).padStart(8, '0')}`,
                  account_name: name,
                }
              : { ...base, channel: 'Tiền mặt' };
        // one shape for every row, as a reader filling values from mapHeader's index produces
        const values: Values = {};
        for (const c of COLUMNS) values[c.key] = src[c.key] ?? '';
        rows.push(values);
      }
      let invalid = 0;
      const started = process.hrtime.bigint();
      for (const values of rows) if (validateRow(values, ref).row === null) invalid++;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`      roll validation: ${rows.length} rows in ${ms.toFixed(0)} ms = ${Math.round(rows.length / (ms / 1000))} rows/s`);
      expect(invalid).to.equal(0);
      expect(ms).to.be.lessThan(2000);
    });
  });
});
