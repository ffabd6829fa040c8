import { expect } from 'chai';
import { addMonths, formatPeriod, fromMonthIndex, isPeriod, monthIndex, parsePeriod, periodsBetween } from '../../src/platform/period';

describe('platform/period', () => {
  describe('parsePeriod', () => {
    it('reads YYYY-MM into an INT yyyymm', () => {
      expect(parsePeriod('2024-12')).to.equal(202412);
      expect(parsePeriod('2021-07')).to.equal(202107);
      expect(parsePeriod('2025-01')).to.equal(202501);
    });

    it('returns null for anything that is not exactly YYYY-MM with a real month', () => {
      for (const bad of [
        '2024-13',
        '2024-00',
        '2024-1',
        '24-12',
        '202412',
        '2024/12',
        ' 2024-12',
        '2024-12 ',
        '2024-12-01',
        '',
        'abcd-ef',
        '1899-12',
      ])
        expect(parsePeriod(bad), bad).to.equal(null);
    });
  });

  describe('formatPeriod', () => {
    it('writes yyyymm as YYYY-MM with a two-digit month', () => {
      expect(formatPeriod(202412)).to.equal('2024-12');
      expect(formatPeriod(202407)).to.equal('2024-07');
    });

    it('round-trips with parsePeriod', () => {
      for (const p of [190001, 202101, 202107, 202412, 999912]) expect(parsePeriod(formatPeriod(p))).to.equal(p);
    });

    it('throws on a number that is not a period', () => {
      for (const bad of [202413, 202400, 2024, 202412.5, NaN, -202412]) expect(() => formatPeriod(bad), String(bad)).to.throw(RangeError);
    });
  });

  describe('monthIndex, addMonths', () => {
    it('counts months as year × 12 + month − 1', () => {
      expect(monthIndex(202401)).to.equal(2024 * 12);
      expect(monthIndex(202412)).to.equal(2024 * 12 + 11);
      expect(monthIndex(202501) - monthIndex(202412)).to.equal(1);
      expect(monthIndex(202407) - monthIndex(202107)).to.equal(36);
    });

    it('is inverted by fromMonthIndex', () => {
      for (const p of [202101, 202107, 202412]) expect(fromMonthIndex(monthIndex(p))).to.equal(p);
    });

    it('adds and subtracts months across year ends', () => {
      expect(addMonths(202412, 1)).to.equal(202501);
      expect(addMonths(202401, -1)).to.equal(202312);
      expect(addMonths(202406, 0)).to.equal(202406);
      expect(addMonths(202107, 36)).to.equal(202407);
      expect(addMonths(202412, -24)).to.equal(202212);
      expect(addMonths(202402, 23)).to.equal(202601);
    });

    it('throws on a fractional number of months or a bad period', () => {
      expect(() => addMonths(202412, 1.5)).to.throw(RangeError);
      expect(() => addMonths(202413, 1)).to.throw(RangeError);
      expect(() => monthIndex(202400)).to.throw(RangeError);
    });
  });

  describe('periodsBetween', () => {
    it('lists every month, both ends included, across a year end', () => {
      expect(periodsBetween(202411, 202502)).to.deep.equal([202411, 202412, 202501, 202502]);
    });

    it('gives one period when both ends are the same and none when the end is earlier', () => {
      expect(periodsBetween(202407, 202407)).to.deep.equal([202407]);
      expect(periodsBetween(202407, 202406)).to.deep.equal([]);
    });

    it('gives twelve periods for a calendar year', () => {
      const year = periodsBetween(202401, 202412);
      expect(year).to.have.length(12);
      expect(year.every(isPeriod)).to.equal(true);
    });
  });
});
