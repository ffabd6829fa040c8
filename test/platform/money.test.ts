import { expect } from 'chai';
import { levelInForce } from '../../src/components/programmes';
import { entitlement, formatCoefficient, formatVnd, parseCoefficient } from '../../src/platform/money';
import { periodsBetween } from '../../src/platform/period';

describe('platform/money', () => {
  describe('entitlement', () => {
    it('multiplies the base level by the coefficient in hundredths', () => {
      expect(entitlement(360000, 150)).to.equal(540000);
      expect(entitlement(500000, 250)).to.equal(1250000);
      expect(entitlement(500000, 100)).to.equal(500000);
      expect(entitlement(360000, 200)).to.equal(720000);
      expect(entitlement(500000, 300)).to.equal(1500000);
    });

    it('rounds half a đồng up and less than half down', () => {
      expect(entitlement(333333, 150)).to.equal(500000); // 499999.5
      expect(entitlement(333331, 150)).to.equal(499997); // 499996.5
      expect(entitlement(1, 150)).to.equal(2); // 1.5
      expect(entitlement(1, 149)).to.equal(1); // 1.49
      expect(entitlement(3, 50)).to.equal(2); // 1.5
      expect(entitlement(333333, 133)).to.equal(443333); // 443332.89
      expect(entitlement(333337, 101)).to.equal(336670); // 336670.37
      expect(entitlement(7, 5)).to.equal(0); // 0.35
    });

    it('gives exact results where a float product would not (1.15 × 100 is 114.99… in floating point)', () => {
      expect(1.15 * 100).to.not.equal(115);
      expect(entitlement(100, 115)).to.equal(115);
      expect(entitlement(10, 15)).to.equal(2); // 1.5, rounded up; 10 * 0.15 = 1.4999999999999998 in floats
    });

    it('stays exact where base × coefficient passes 2^53', () => {
      const base = 2 ** 45 + 1;
      expect(base * 1000 > Number.MAX_SAFE_INTEGER).to.equal(true);
      expect(entitlement(base, 1000)).to.equal(base * 10);
      expect(entitlement(Number.MAX_SAFE_INTEGER, 100)).to.equal(Number.MAX_SAFE_INTEGER);
      expect(() => entitlement(Number.MAX_SAFE_INTEGER, 200)).to.throw(RangeError);
    });

    it('gives 0 for a zero base or coefficient', () => {
      expect(entitlement(0, 150)).to.equal(0);
      expect(entitlement(500000, 0)).to.equal(0);
    });

    it('throws on non-integer, negative or unsafe inputs instead of guessing', () => {
      for (const [base, coef] of [
        [360000.5, 150],
        [360000, 1.5],
        [-360000, 150],
        [360000, -150],
        [NaN, 150],
        [360000, Infinity],
        [2 ** 53, 100],
      ] as const)
        expect(() => entitlement(base, coef), `${base} × ${coef}`).to.throw(RangeError);
      expect(() => entitlement('360000' as unknown as number, 150)).to.throw(RangeError);
    });

    it('follows a base-level change mid-year: January-June at 360,000, July-December at 500,000', () => {
      const levels = [
        { effectiveFrom: 202107, amount: 360000 },
        { effectiveFrom: 202407, amount: 500000 },
      ];
      const months = periodsBetween(202401, 202412).map((p) => ({ p, amount: entitlement(levelInForce(levels, p)!.amount, 150) }));
      expect(months.filter((m) => m.p <= 202406).map((m) => m.amount)).to.deep.equal(Array(6).fill(540000));
      expect(months.filter((m) => m.p >= 202407).map((m) => m.amount)).to.deep.equal(Array(6).fill(750000));
      expect(months.reduce((s, m) => s + m.amount, 0)).to.equal(6 * 540000 + 6 * 750000);
      expect(levelInForce(levels, 202106)).to.equal(null);
      expect(levelInForce(levels, 202107)!.amount).to.equal(360000);
      expect(levelInForce([...levels].reverse(), 202512)!.amount).to.equal(500000);
    });
  });

  describe('parseCoefficient, formatCoefficient', () => {
    it('reads a decimal coefficient into hundredths without floating point', () => {
      expect(parseCoefficient('1.5')).to.equal(150);
      expect(parseCoefficient('1.50')).to.equal(150);
      expect(parseCoefficient('2')).to.equal(200);
      expect(parseCoefficient('1.15')).to.equal(115);
      expect(parseCoefficient('0.05')).to.equal(5);
      expect(parseCoefficient('2.5')).to.equal(250);
    });

    it('returns null for anything but a plain decimal with at most two decimals', () => {
      for (const bad of ['', '1.', '.5', '1.555', '1,5', '-1', '+1', '1e2', ' 1.5', 'abc', '1.5.0', '1234'])
        expect(parseCoefficient(bad), bad).to.equal(null);
    });

    it('writes hundredths back without trailing zeros', () => {
      expect(formatCoefficient(150)).to.equal('1.5');
      expect(formatCoefficient(200)).to.equal('2');
      expect(formatCoefficient(105)).to.equal('1.05');
      expect(formatCoefficient(5)).to.equal('0.05');
    });
  });

  describe('formatVnd', () => {
    it('writes whole đồng with dots between thousands', () => {
      expect(formatVnd(500000)).to.equal('500.000 đ');
      expect(formatVnd(360000)).to.equal('360.000 đ');
      expect(formatVnd(1250000)).to.equal('1.250.000 đ');
      expect(formatVnd(10000000000)).to.equal('10.000.000.000 đ');
      expect(formatVnd(999)).to.equal('999 đ');
      expect(formatVnd(1000)).to.equal('1.000 đ');
      expect(formatVnd(0)).to.equal('0 đ');
      expect(formatVnd(-540000)).to.equal('-540.000 đ');
      expect(formatVnd(12345678901234567890n)).to.equal('12.345.678.901.234.567.890 đ');
    });

    it('throws on a fraction of a đồng', () => {
      expect(() => formatVnd(500000.5)).to.throw(RangeError);
      expect(() => formatVnd(NaN)).to.throw(RangeError);
    });
  });
});
