import { z } from 'zod';

/**
 * The SMS Gateway API v1 on the wire (shared/contracts/sms-api.md): the shapes of its requests, answers and delivery
 * reports. An answer outside them is never taken as an answer.
 */

export const SMS_REFERENCE = /^[A-Za-z0-9_-]{1,64}$/;
/** A Vietnamese mobile number in E.164. */
export const SMS_TO = /^\+84\d{9}$/;
/** A registered brand name. */
export const SMS_SENDER = /^[A-Za-z0-9.]{1,11}$/;

/** QUEUED → SENT → DELIVERED, or from QUEUED or SENT one final failure. */
export const SMS_STATUSES = ['QUEUED', 'SENT', 'DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED'] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];
export const SMS_FINAL: ReadonlySet<SmsStatus> = new Set(['DELIVERED', 'UNDELIVERABLE', 'REJECTED', 'EXPIRED']);
export const SMS_REJECT_CODES = ['BLOCKED_NUMBER', 'NUMBER_NOT_IN_SERVICE', 'CONTENT_REFUSED'] as const;

/** How far along a status is: a report may only move a message to a higher rank. */
export const smsRank = (s: SmsStatus): number => (s === 'QUEUED' ? 0 : s === 'SENT' ? 1 : 2);

const timestamp = z.iso.datetime({ offset: true });

export const smsMessageSchema = z.object({
  reference: z.string().regex(SMS_REFERENCE),
  messageId: z.string().min(1).max(64),
  status: z.enum(SMS_STATUSES),
  encoding: z.enum(['GSM7', 'UCS2']),
  segments: z.int().positive(),
  createdAt: timestamp,
  updatedAt: timestamp,
  errorCode: z.string().max(32).nullable(),
});
export type SmsMessage = z.infer<typeof smsMessageSchema>;

export const smsReportSchema = z
  .object({
    eventId: z.string().min(1).max(128),
    reference: z.string().regex(SMS_REFERENCE),
    status: z.enum(SMS_STATUSES),
    errorCode: z.string().max(32).nullable(),
    at: timestamp,
  })
  .meta({ id: 'SmsDeliveryReport' });
export type SmsReport = z.infer<typeof smsReportSchema>;

export const smsBalanceSchema = z.object({ segmentsLeft: z.int().nonnegative(), asOf: z.string() });
export type SmsBalance = z.infer<typeof smsBalanceSchema>;

export const smsErrorBodySchema = z.object({ error: z.string(), message: z.string().optional() });

export interface SmsSend {
  reference: string;
  to: string;
  sender: string;
  text: string;
  callbackUrl?: string;
}
