import { expect } from 'chai';
import { answerToInquiry, answerToSend, type AnswerTiming, type Claimed } from '../../src/components/payments/provider-answers';

const timing: AnswerTiming = { retryBaseMs: 1000, retryCapMs: 60_000, pollMs: 5000, maxInquiries: 3 };
const unknown = (over: Partial<Claimed> = {}): Claimed => ({
  seq: '1',
  amount: '500000',
  status: 'unknown',
  attempts: 1,
  inquiries: 2,
  sentAt: new Date(),
  ...over,
});
const inFromNow = (d: Date | null): number => (d ? d.getTime() - Date.now() : NaN);

describe('provider answers: a provider out of reach', () => {
  it('sends a payment whose send was refused at connect back to pending with backoff: it never reached the provider', () => {
    const r = answerToSend(unknown({ status: 'sending', attempts: 4 }), { kind: 'retry_later', retryAfterSeconds: null }, timing);
    expect(r.status).to.equal('pending');
    // attempt 4 of base 1 s: 8-16 s
    expect(inFromNow(r.nextAt)).to.be.within(7_900, 16_100);
  });

  it('keeps an unknown payment unknown when its inquiry is refused, without spending an inquiry, however often', () => {
    let claimed = unknown();
    for (let i = 0; i < 10; i++) {
      const r = answerToInquiry(claimed, { kind: 'retry_later', retryAfterSeconds: null }, timing);
      expect([r.status, r.inquiries]).to.deep.equal(['unknown', 2]);
      claimed = { ...claimed, inquiries: r.inquiries! };
    }
    // the provider back and still not answering clearly: the inquiry counts, and the third goes to review
    const r = answerToInquiry(claimed, { kind: 'unknown', reason: 'TIMEOUT' }, timing);
    expect([r.status, r.inquiries]).to.deep.equal(['review', 3]);
    expect(r.error).to.match(/no answer after 3 inquiries/);
  });

  it('waits longer the longer the payment has waited (half of it again, up to the cap), and at least Retry-After', () => {
    const refused = { kind: 'retry_later' as const, retryAfterSeconds: null };
    const fresh = answerToInquiry(unknown({ inquiries: 0 }), refused, timing);
    expect(inFromNow(fresh.nextAt)).to.be.within(400, 1100);
    const minute = answerToInquiry(unknown({ inquiries: 0, sentAt: new Date(Date.now() - 60_000) }), refused, timing);
    expect(inFromNow(minute.nextAt)).to.be.within(29_000, 30_100);
    const hour = answerToInquiry(unknown({ inquiries: 0, sentAt: new Date(Date.now() - 3_600_000) }), refused, timing);
    expect(inFromNow(hour.nextAt)).to.be.within(59_000, 60_100);
    const busy = answerToInquiry(unknown({ inquiries: 0 }), { kind: 'retry_later', retryAfterSeconds: 20 }, timing);
    expect(inFromNow(busy.nextAt)).to.be.within(19_000, 20_100);
  });

  it('still resolves an unknown payment the provider never received as pending, to be sent again with the same reference', () => {
    const r = answerToInquiry(unknown(), { kind: 'not_found' }, timing);
    expect([r.status, r.inquiries]).to.deep.equal(['pending', 0]);
  });
});
