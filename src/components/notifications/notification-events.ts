import { invalid } from '../../platform/errors';

/** What a recipient is told about. */
export const NOTIFICATION_EVENTS = [
  'payment_sent',
  'payment_paid',
  'payment_failed',
  'payment_returned',
  'paypoint_scheduled',
  'paypoint_reminder',
  'enrolment_suspended',
  'enrolment_ended',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** The events that tell a pay-point hand-over: each message names the revision it tells (schedule_id). */
export const HANDOVER_EVENTS: ReadonlySet<NotificationEvent> = new Set<NotificationEvent>(['paypoint_scheduled', 'paypoint_reminder']);

/** The end of a message's reference: NTF-<subject>-<suffix>. */
export const EVENT_SUFFIX: Record<NotificationEvent, string> = {
  payment_sent: 'SENT',
  payment_paid: 'PAID',
  payment_failed: 'FAILED',
  payment_returned: 'RETURNED',
  paypoint_scheduled: 'PAYPOINT',
  paypoint_reminder: 'REMIND',
  enrolment_suspended: 'SUSPENDED',
  enrolment_ended: 'ENDED',
};

/**
 * The only values a template may name: each the recipient's own, and masked where it is personal data (the last four
 * digits of the account, never the number; no national ID at all).
 */
export const PLACEHOLDERS = {
  ten: "the recipient's full name",
  thang: 'the month paid, MM/YYYY',
  so_tien: "the recipient's own amount, e.g. 500.000đ",
  tk_cuoi: "the last 4 digits of the recipient's account or wallet",
  diem_rut: "a cash-out point of the recipient's own bank or wallet in their commune (name, address)",
  ngay: 'the hand-over date (pay points)',
  dia_diem: 'the hand-over place (pay points)',
  gio: 'the hand-over hours (pay points)',
  giay_to: 'what to bring to the hand-over (pay points)',
  hotline: "the department's hotline",
} as const;
export type Placeholder = keyof typeof PLACEHOLDERS;
export type TemplateValues = Partial<Record<Placeholder, string>>;

export const MAX_TEMPLATE_CHARS = 500;

/** Built-in texts, in force for a programme until staff save one of their own (version 0). */
export const DEFAULT_TEMPLATES: Record<NotificationEvent, string> = {
  payment_sent: 'Sở LĐTBXH: Trợ cấp tháng {thang} số tiền {so_tien} đang được chuyển vào TK ***{tk_cuoi}. Hỏi đáp: {hotline}',
  payment_paid: 'Sở LĐTBXH: Trợ cấp tháng {thang} số tiền {so_tien} đã vào TK ***{tk_cuoi}. Rút tiền tại: {diem_rut}. Hỏi đáp: {hotline}',
  payment_failed: 'Sở LĐTBXH: Trợ cấp tháng {thang} chưa chuyển được vào TK ***{tk_cuoi}. Xin liên hệ UBND xã hoặc {hotline}',
  payment_returned: 'Sở LĐTBXH: Trợ cấp tháng {thang} số tiền {so_tien} bị ngân hàng trả lại. Xin liên hệ UBND xã hoặc {hotline}',
  paypoint_scheduled:
    'Sở LĐTBXH: Trợ cấp tháng {thang} {so_tien} chi trả tại {dia_diem} ngày {ngay}, {gio}. Mang theo {giay_to}. Hỏi đáp: {hotline}',
  paypoint_reminder:
    'Sở LĐTBXH: Nhắc lịch: ngày mai {ngay} nhận trợ cấp tháng {thang} tại {dia_diem}, {gio}. Mang theo {giay_to}. Hỏi đáp: {hotline}',
  enrolment_suspended: 'Sở LĐTBXH: Trợ cấp của {ten} tạm dừng. Xin liên hệ UBND xã hoặc {hotline}',
  enrolment_ended: 'Sở LĐTBXH: Trợ cấp của {ten} đã kết thúc. Hỏi đáp: {hotline}',
};

const TOKEN = /\{([^{}]*)\}/g;

/**
 * Refuses a template that names anything outside PLACEHOLDERS (400 UNKNOWN_PLACEHOLDER naming it), has a brace
 * outside a placeholder, or carries a run of nine or more digits (an account or ID number typed in by hand).
 */
export function checkTemplate(body: string): void {
  if (body.trim().length === 0 || [...body].length > MAX_TEMPLATE_CHARS) {
    throw invalid('INVALID_TEMPLATE', `body must be 1-${MAX_TEMPLATE_CHARS} characters`);
  }
  const unknown: string[] = [];
  for (const m of body.matchAll(TOKEN)) if (!(m[1]! in PLACEHOLDERS)) unknown.push(m[1]!);
  if (unknown.length) {
    throw invalid(
      'UNKNOWN_PLACEHOLDER',
      `unknown placeholder ${unknown.map((u) => `{${u}}`).join(', ')}: a template may name only ${Object.keys(PLACEHOLDERS)
        .map((k) => `{${k}}`)
        .join(', ')}`,
      {
        placeholders: unknown,
      },
    );
  }
  if (/[{}]/.test(body.replace(TOKEN, ''))) throw invalid('INVALID_TEMPLATE', 'a brace outside a {placeholder}');
  if (/\d{9,}/.test(body))
    throw invalid('TEMPLATE_LOOKS_PERSONAL', 'a run of nine or more digits looks like an account or ID number: use {tk_cuoi}');
}

/** The template with each placeholder replaced by its value (an absent value renders empty). */
export function renderTemplate(body: string, values: TemplateValues): string {
  return body
    .replace(TOKEN, (_, name: string) => values[name as Placeholder] ?? '')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** `500.000đ`, as SMS texts write amounts (no space: every character costs). */
export function smsAmount(amount: number): string {
  return `${String(amount).replace(/\B(?=(\d{3})+$)/g, '.')}đ`;
}

/** `12/2026` from a period 202612. */
export function smsMonth(period: number): string {
  return `${String(period % 100).padStart(2, '0')}/${Math.floor(period / 100)}`;
}

/** A phone as the roll holds it (0 and 9 digits) in E.164, or null when it is not a Vietnamese mobile number. */
export function e164(phone: string): string | null {
  const digits = phone.replace(/[\s.-]/g, '');
  if (/^0\d{9}$/.test(digits)) return `+84${digits.slice(1)}`;
  if (/^\+84\d{9}$/.test(digits)) return digits;
  if (/^84\d{9}$/.test(digits)) return `+${digits}`;
  return null;
}
