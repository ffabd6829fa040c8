import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { idlePhase, loginUrl, safeNext } from '../../src/web/app/idle';
import { compareVietnamese, foldVietnamese, formatDate, formatMoney, formatTime, matchesVietnamese } from '../../src/web/ui/format';

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

describe('console message catalogues (src/web/i18n)', () => {
  const read = (lang: string) =>
    JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'src', 'web', 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
  it('name the same messages with the same placeholders in Vietnamese and English', () => {
    const vi = read('vi');
    const en = read('en');
    expect(Object.keys(en).sort()).to.deep.equal(Object.keys(vi).sort());
    const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(vi)) expect(holes(en[key]!), key).to.deep.equal(holes(vi[key]!));
  });
});
