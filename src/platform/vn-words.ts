import { ReadingConfig, doReadNumber } from 'read-vietnamese-number';

/*
 * Accounting style as on Vietnamese payment documents: "linh" (not "lẻ") for a
 * zero tens before non-zero units, "tỷ" (not "tỉ"), "bốn" (not "tư") after
 * mươi; the library already says "không trăm" for a zero hundreds inside a
 * larger number, "mốt" for 1 after mươi and "lăm" for 5 after a ten.
 */
const READING = new ReadingConfig();
READING.unit = ['đồng'];
READING.oddText = 'linh';
READING.fourToneText = 'bốn';
READING.units = [[], ['nghìn'], ['triệu'], ['tỷ']];
Object.freeze(READING);

/**
 * An amount of whole đồng in Vietnamese words, capitalised, as written on
 * payment documents: 1500000 → "Một triệu năm trăm nghìn đồng",
 * 1000005 → "Một triệu không trăm linh năm đồng", 0 → "Không đồng".
 * Throws RangeError on a negative, fractional or unsafe (beyond 2^53 - 1) number.
 */
export function amountInWords(amount: number | bigint): string {
  let digits: string;
  if (typeof amount === 'bigint') {
    if (amount < 0n) throw new RangeError(`amount must not be negative: ${amount}`);
    digits = amount.toString(10);
  } else if (typeof amount === 'number') {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new RangeError(`amount must be a whole, non-negative, safe number of đồng: ${String(amount)}`);
    }
    digits = amount.toString(10);
  } else {
    throw new RangeError(`amount must be a number or a bigint: ${typeof amount}`);
  }
  const words = doReadNumber(digits, READING);
  return words.charAt(0).toUpperCase() + words.slice(1);
}
