import type { Schemas } from '../../api/client';
import { hasMessage, type MessageKey } from '../../i18n/catalogue';
import { formatMoney } from '../../ui/format';

/** The page's t() (i18n.tsx), named here without its JSX module so Node tests can load this file. */
type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export type PayPointProblem = NonNullable<Schemas['PayPointResultsRefusal']['error']['details']>['problems'][number];
export type LeftOut = Schemas['LeftOutPage']['items'][number];

function paymentStatus(t: Translate, status: string): string {
  const key = `batches.payment.${status}`;
  return hasMessage(key) ? t(key) : status;
}

/** A refused line of a pay point's results file in the reader's language, from its code; the API's sentence for a code the catalogue lacks. */
export function payPointProblemText(
  t: Translate,
  p: Pick<PayPointProblem, 'code' | 'column' | 'reference' | 'value' | 'status' | 'message'>,
): string {
  const key = `batches.paypoints.problem.${p.code}`;
  if (!hasMessage(key)) return p.message;
  return t(key, {
    column: p.column ?? '',
    reference: p.reference ?? '',
    value: p.value ?? '',
    status: p.status ? paymentStatus(t, p.status) : '',
  });
}

/**
 * What a left-out row's facts say, in the reader's language: the batch and payment that hold the month, what is owed
 * and what was paid, the payment a retry was to pay again. A row without facts shows the API's sentence.
 */
export function leftOutDetailText(
  t: Translate,
  r: Omit<LeftOut, 'enrolmentId' | 'beneficiaryId' | 'fullName' | 'period' | 'reason'>,
): string {
  const parts: string[] = [];
  if (r.otherBatchId) {
    parts.push(
      r.otherReference
        ? t('batches.leftOut.otherPayment', { id: r.otherBatchId, reference: r.otherReference })
        : t('batches.leftOut.otherBatch', { id: r.otherBatchId }),
    );
  }
  if (r.owed !== null && r.paidInLivePayments !== null) {
    parts.push(t('batches.leftOut.owed', { owed: formatMoney(r.owed), paid: formatMoney(r.paidInLivePayments) }));
  }
  if (r.retriedReference) {
    parts.push(
      t('batches.leftOut.retried', {
        reference: r.retriedReference,
        status: r.retriedStatus ? paymentStatus(t, r.retriedStatus) : '',
      }),
    );
  }
  return parts.length ? parts.join(' ') : (r.detail ?? '');
}
