import { expect } from 'chai';
import { amountInWords } from '../../src/platform/vn-words';

const CASES: [number | bigint, string][] = [
  // the examples of the specification
  [500000, 'Năm trăm nghìn đồng'],
  [1500000, 'Một triệu năm trăm nghìn đồng'],
  [0, 'Không đồng'],
  [105, 'Một trăm linh năm đồng'],
  [15, 'Mười lăm đồng'],
  [21, 'Hai mươi mốt đồng'],
  [25, 'Hai mươi lăm đồng'],
  [1000005, 'Một triệu không trăm linh năm đồng'],
  // units
  [1, 'Một đồng'],
  [4, 'Bốn đồng'],
  [5, 'Năm đồng'],
  [7, 'Bảy đồng'],
  [9, 'Chín đồng'],
  // tens: mười, mươi, mốt after mươi only, lăm after any ten
  [10, 'Mười đồng'],
  [11, 'Mười một đồng'],
  [14, 'Mười bốn đồng'],
  [19, 'Mười chín đồng'],
  [20, 'Hai mươi đồng'],
  [24, 'Hai mươi bốn đồng'],
  [31, 'Ba mươi mốt đồng'],
  [41, 'Bốn mươi mốt đồng'],
  [45, 'Bốn mươi lăm đồng'],
  [55, 'Năm mươi lăm đồng'],
  [91, 'Chín mươi mốt đồng'],
  [99, 'Chín mươi chín đồng'],
  // hundreds: linh for a zero tens before non-zero units
  [100, 'Một trăm đồng'],
  [101, 'Một trăm linh một đồng'],
  [104, 'Một trăm linh bốn đồng'],
  [110, 'Một trăm mười đồng'],
  [111, 'Một trăm mười một đồng'],
  [115, 'Một trăm mười lăm đồng'],
  [121, 'Một trăm hai mươi mốt đồng'],
  [205, 'Hai trăm linh năm đồng'],
  [999, 'Chín trăm chín mươi chín đồng'],
  // thousands: "không trăm" for a zero hundreds inside a larger number
  [1000, 'Một nghìn đồng'],
  [1001, 'Một nghìn không trăm linh một đồng'],
  [1005, 'Một nghìn không trăm linh năm đồng'],
  [1010, 'Một nghìn không trăm mười đồng'],
  [1015, 'Một nghìn không trăm mười lăm đồng'],
  [1021, 'Một nghìn không trăm hai mươi mốt đồng'],
  [1100, 'Một nghìn một trăm đồng'],
  [2024, 'Hai nghìn không trăm hai mươi bốn đồng'],
  [10000, 'Mười nghìn đồng'],
  [15000, 'Mười lăm nghìn đồng'],
  [21000, 'Hai mươi mốt nghìn đồng'],
  [100000, 'Một trăm nghìn đồng'],
  [105000, 'Một trăm linh năm nghìn đồng'],
  [360000, 'Ba trăm sáu mươi nghìn đồng'],
  [540000, 'Năm trăm bốn mươi nghìn đồng'],
  // millions: a whole zero group is left out
  [1000000, 'Một triệu đồng'],
  [1000010, 'Một triệu không trăm mười đồng'],
  [1001000, 'Một triệu không trăm linh một nghìn đồng'],
  [1250000, 'Một triệu hai trăm năm mươi nghìn đồng'],
  [10000000, 'Mười triệu đồng'],
  [12345678, 'Mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám đồng'],
  [100000001, 'Một trăm triệu không trăm linh một đồng'],
  // tỷ (not tỉ), nghìn tỷ, triệu tỷ
  [1000000000, 'Một tỷ đồng'],
  [1000000005, 'Một tỷ không trăm linh năm đồng'],
  [1000001000, 'Một tỷ không trăm linh một nghìn đồng'],
  [2500000000, 'Hai tỷ năm trăm triệu đồng'],
  [1000000000000, 'Một nghìn tỷ đồng'],
  [1234567891234, 'Một nghìn hai trăm ba mươi bốn tỷ năm trăm sáu mươi bảy triệu tám trăm chín mươi mốt nghìn hai trăm ba mươi bốn đồng'],
  [1000000000000000, 'Một triệu tỷ đồng'],
  [
    Number.MAX_SAFE_INTEGER,
    'Chín triệu không trăm linh bảy nghìn một trăm chín mươi chín tỷ hai trăm năm mươi bốn triệu bảy trăm bốn mươi nghìn chín trăm chín mươi mốt đồng',
  ],
  // bigint, also beyond the safe range of a number
  [0n, 'Không đồng'],
  [500000n, 'Năm trăm nghìn đồng'],
  [1000000000000000000n, 'Một tỷ tỷ đồng'],
  [
    9007199254740993n,
    'Chín triệu không trăm linh bảy nghìn một trăm chín mươi chín tỷ hai trăm năm mươi bốn triệu bảy trăm bốn mươi nghìn chín trăm chín mươi ba đồng',
  ],
];

describe('platform/vn-words: amountInWords', () => {
  for (const [amount, words] of CASES) {
    it(`reads ${String(amount)}${typeof amount === 'bigint' ? 'n' : ''} as "${words}"`, () => {
      expect(amountInWords(amount)).to.equal(words);
    });
  }

  it('reads the same amount given as a number or a bigint the same way', () => {
    for (const [amount] of CASES) {
      if (typeof amount === 'number') expect(amountInWords(BigInt(amount))).to.equal(amountInWords(amount));
    }
  });

  it('keeps the accounting style on 20,000 spread amounts: capitalised, ends in đồng, never lẻ, tỉ, "mươi một" or "mươi năm"', () => {
    let n = 7;
    for (let i = 0; i < 20000; i += 1) {
      n = (n * 7919 + 104729) % 10_000_000_000_000;
      const words = amountInWords(n);
      expect(words, String(n)).to.match(/^[A-ZĐÂĂÊÔƠƯÁÀẢÃẠ][^ ]* (?:[^ ]+ )*đồng$/u);
      for (const word of ['lẻ', 'tỉ', 'tư', '']) expect(words.split(' '), String(n)).to.not.include(word);
      expect(words, String(n)).to.not.match(/mươi một|mươi năm|mười năm/u);
      // a zero tens with non-zero units is "linh"; "linh" is only ever followed by one digit word
      expect(words, String(n)).to.not.match(/linh (?:mười|mươi|trăm|nghìn|triệu|tỷ|đồng)/u);
    }
  });

  it('refuses negative amounts with RangeError', () => {
    expect(() => amountInWords(-1)).to.throw(RangeError);
    expect(() => amountInWords(-500000)).to.throw(RangeError);
    expect(() => amountInWords(-1n)).to.throw(RangeError);
  });

  it('refuses fractions, NaN, infinities and unsafe numbers with RangeError (whole đồng only)', () => {
    for (const bad of [0.5, 1.5, 500000.01, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e21]) {
      expect(() => amountInWords(bad), String(bad)).to.throw(RangeError);
    }
  });

  it('refuses what is not a number at run time with RangeError', () => {
    for (const bad of ['500000', null, undefined, {}]) {
      expect(() => amountInWords(bad as unknown as number), String(bad)).to.throw(RangeError);
    }
  });

  it('reads negative zero as zero', () => {
    expect(amountInWords(-0)).to.equal('Không đồng');
  });
});
