import { expect } from 'chai';
import { answerToInquiry, answerToSend, type AnswerTiming, type Claimed } from '../../src/components/payments/provider-answers';

const timing: AnswerTiming = { retryBaseMs: 1000, retryCapMs: 60_000, pollMs: 5000, maxInquiries: 3 };
const unknown = (over: Partial<Claimed> = {}): Claimed => ({
  seq: '1',
  amount: '500000',
  status: 'unknown',
  attempts: 1,
  inquiries: 2,
  busyInquiries: 0,
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

  it('waits twice as long with each busy answer in a row, never more than half the time the payment has waited, at least Retry-After', () => {
    const refused = { kind: 'retry_later' as const, retryAfterSeconds: null };
    // the first busy answer costs a short wait, however long the payment has waited already (a worker killed mid-send)
    const first = answerToInquiry(unknown({ inquiries: 0, sentAt: new Date(Date.now() - 3_600_000) }), refused, timing);
    expect(inFromNow(first.nextAt)).to.be.within(400, 1100);
    expect(first.busyInquiries).to.equal(1);
    // an hour's wait does not bound the doubling: base 1 s from the second answer, 1-2 s, 2-4 s, … then the 60 s cap
    let claimed = unknown({ inquiries: 0, busyInquiries: 1, sentAt: new Date(Date.now() - 3_600_000) });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = answerToInquiry(claimed, refused, timing);
      waits.push(inFromNow(r.nextAt));
      claimed = { ...claimed, busyInquiries: r.busyInquiries! };
    }
    expect(waits[0]).to.be.within(900, 2100);
    expect(waits[3]).to.be.within(7_900, 16_100);
    expect(waits[7]).to.be.within(29_000, 60_100);
    expect(claimed.busyInquiries).to.equal(9);
    // many busy answers, but the payment waited only 10 s: asked again within 5 s (an outage that has just ended)
    const recent = answerToInquiry(unknown({ inquiries: 0, busyInquiries: 9, sentAt: new Date(Date.now() - 10_000) }), refused, timing);
    expect(inFromNow(recent.nextAt)).to.be.within(4_900, 5_100);
    // and never hot: a payment sent a moment ago waits at least the first wait
    const fresh = answerToInquiry(unknown({ inquiries: 0, busyInquiries: 9 }), refused, timing);
    expect(inFromNow(fresh.nextAt)).to.be.within(400, 1100);
    const busy = answerToInquiry(unknown({ inquiries: 0 }), { kind: 'retry_later', retryAfterSeconds: 20 }, timing);
    expect(inFromNow(busy.nextAt)).to.be.within(19_000, 20_100);
    // an answer that says something ends the run: the next busy answer waits the short wait again
    expect(answerToInquiry(claimed, { kind: 'unknown', reason: 'TIMEOUT' }, timing).busyInquiries).to.equal(0);
    expect(answerToInquiry(claimed, { kind: 'not_found' }, timing).busyInquiries).to.equal(0);
  });

  it('still resolves an unknown payment the provider never received as pending, to be sent again with the same reference', () => {
    const r = answerToInquiry(unknown(), { kind: 'not_found' }, timing);
    expect([r.status, r.inquiries]).to.deep.equal(['pending', 0]);
  });
});
