import { amountInWords } from '../../platform/vn-words';
import { formatDate, formatMoney } from './format';

/** An amount of whole đồng: `1.234.567 ₫`. */
export function Money({ amount }: { amount: number | string }) {
  return <span className="money">{formatMoney(amount)}</span>;
}

/** The amount in Vietnamese words, as written on payment documents (the server's own reader). */
export function AmountInWords({ amount }: { amount: number | string }) {
  return <span className="amount-words">{amountInWords(typeof amount === 'string' ? BigInt(amount) : amount)}</span>;
}

/** A date as dd/MM/yyyy, machine-readable in `dateTime`. */
export function DateText({ value }: { value: string }) {
  return <time dateTime={value}>{formatDate(value)}</time>;
}
