import { HEADER, rollRows, type GenOptions } from '../bench/roll-generator';
import type { LookupDestination } from '../src/components/providers';

/**
 * Demo data, development only: one real province (Hà Nội, GSO codes) with a
 * few urban districts and their wards, one user per role, and three
 * social-assistance programmes with the national base levels.
 */
export const DEMO_AREAS = {
  code: '01',
  name: 'Thành phố Hà Nội',
  level: 'province',
  children: [
    {
      code: '001',
      name: 'Quận Ba Đình',
      level: 'district',
      children: [
        ['00001', 'Phường Phúc Xá'],
        ['00004', 'Phường Trúc Bạch'],
        ['00006', 'Phường Vĩnh Phúc'],
        ['00007', 'Phường Cống Vị'],
        ['00008', 'Phường Liễu Giai'],
      ],
    },
    {
      code: '002',
      name: 'Quận Hoàn Kiếm',
      level: 'district',
      children: [
        ['00037', 'Phường Phúc Tân'],
        ['00040', 'Phường Đồng Xuân'],
        ['00043', 'Phường Hàng Mã'],
        ['00046', 'Phường Hàng Buồm'],
      ],
    },
    {
      code: '003',
      name: 'Quận Tây Hồ',
      level: 'district',
      children: [
        ['00091', 'Phường Phú Thượng'],
        ['00094', 'Phường Nhật Tân'],
        ['00097', 'Phường Tứ Liên'],
        ['00100', 'Phường Quảng An'],
      ],
    },
  ],
} as const;

/** Documented in the README; never used outside development. */
export const DEMO_PASSWORD = 'Demo-Password-2026!';
/** TOTP secret of the demo admins and approver: `npm run totp -- JBSWY3DPEHPK3PXP` prints the current code. */
export const DEMO_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

export const DEMO_USERS = [
  { username: 'admin', displayName: 'Quản trị hệ thống', roles: ['admin'], area: null, totp: true },
  // a second administrator confirms what the first proposes (approver and admin grants)
  { username: 'admin2', displayName: 'Quản trị viên thứ hai', roles: ['admin'], area: null, totp: true },
  { username: 'staff', displayName: 'Cán bộ Sở LĐ-TB&XH', roles: ['staff'], area: '01', totp: false },
  { username: 'approver.badinh', displayName: 'Cán bộ duyệt Ba Đình', roles: ['approver'], area: '001', totp: true },
  { username: 'auditor', displayName: 'Kiểm toán viên', roles: ['auditor'], area: null, totp: false },
] as const;

/** Base levels of social assistance: Decree 20/2021/ND-CP from July 2021, Decree 76/2024/ND-CP from July 2024. */
const SOCIAL_ASSISTANCE_LEVELS = [
  { effectiveFrom: 202107, amount: 360000, reason: 'Nghị định 20/2021/NĐ-CP' },
  { effectiveFrom: 202407, amount: 500000, reason: 'Nghị định 76/2024/NĐ-CP' },
] as const;

export const DEMO_PROGRAMMES = [
  { code: 'TCXH-NCT80', name: 'Trợ cấp xã hội người cao tuổi từ đủ 80 tuổi', frequency: 'monthly', baseLevels: SOCIAL_ASSISTANCE_LEVELS },
  { code: 'TCXH-KT', name: 'Trợ cấp xã hội người khuyết tật', frequency: 'monthly', baseLevels: SOCIAL_ASSISTANCE_LEVELS },
  { code: 'TCXH-TMC', name: 'Trợ cấp xã hội trẻ em mồ côi', frequency: 'monthly', baseLevels: SOCIAL_ASSISTANCE_LEVELS },
] as const;

/** The demo roll `npm start` imports: generated, the same file every time (a few rows with problems). */
export const DEMO_ROLL: GenOptions = {
  rows: 60,
  bad: 0.05,
  areas: DEMO_AREAS.children.flatMap((d) => d.children.map(([code]) => code)),
  programme: 'TCXH-NCT80',
  seed: 7,
};

/**
 * Every bank account and wallet of the demo roll with its holder's name as the roll gives it: the sandbox provider
 * registers them, so that the account check of a demo batch finds the names the roll holds.
 */
export function demoRollAccounts(): { destination: LookupDestination; accountName: string }[] {
  const out: { destination: LookupDestination; accountName: string }[] = [];
  const at = (key: string) => HEADER.indexOf(key);
  for (const row of rollRows(DEMO_ROLL)) {
    const [bank, account, name, wallet, walletId] = [
      row[at('bank_code')],
      row[at('account_number')],
      row[at('account_name')],
      row[at('wallet_provider')],
      row[at('wallet_id')],
    ];
    if (!name) continue;
    if (bank && account) out.push({ destination: { type: 'BANK_ACCOUNT', bankCode: bank, accountNumber: account }, accountName: name });
    else if (wallet && walletId) out.push({ destination: { type: 'WALLET', walletProvider: wallet, walletId }, accountName: name });
  }
  return out;
}

/**
 * Demo cash-out points (development only) in the wards of the demo roll: Vietcombank and BIDV ATMs and branches, post
 * offices and Viettel Money agents in some wards and not others, so that the access report shows communes with points
 * and gaps. [point code, kind, operator, name, ward, address, opening hours]
 */
export const DEMO_POINTS: readonly (readonly [string, string, string, string, string, string, string | null])[] = [
  ['VCB-ATM-0101', 'atm', '970436', 'ATM Vietcombank Phúc Xá', '00001', '12 Phúc Xá, Ba Đình', '24/7'],
  ['VCB-PGD-0104', 'bank_branch', '970436', 'Vietcombank PGD Trúc Bạch', '00004', '5 Trúc Bạch, Ba Đình', 'T2-T6 8:00-17:00'],
  ['BIDV-ATM-0106', 'atm', '970418', 'ATM BIDV Vĩnh Phúc', '00006', '88 Vĩnh Phúc, Ba Đình', '24/7'],
  ['AGR-DL-0107', 'bank_agent', '970405', 'Đại lý Agribank Cống Vị', '00007', '20 Cống Vị, Ba Đình', 'T2-T7 7:30-18:00'],
  ['BD-0108', 'post_office', 'VNPOST', 'Bưu điện Liễu Giai', '00008', '3 Liễu Giai, Ba Đình', 'T2-T7 7:30-17:30'],
  ['VTM-0040', 'mobile_money_agent', 'VIETTELMONEY', 'Điểm Viettel Money Đồng Xuân', '00040', '9 Đồng Xuân, Hoàn Kiếm', 'T2-CN 8:00-21:00'],
  ['VCB-ATM-0043', 'atm', '970436', 'ATM Vietcombank Hàng Mã', '00043', '40 Hàng Mã, Hoàn Kiếm', '24/7'],
  ['BD-0094', 'post_office', 'VNPOST', 'Bưu điện Nhật Tân', '00094', '2 Nhật Tân, Tây Hồ', 'T2-T7 7:30-17:30'],
];
