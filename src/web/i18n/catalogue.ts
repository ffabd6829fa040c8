import viCore from './vi.json';
import enCore from './en.json';
import viAdmin from '../features/admin/messages.vi.json';
import enAdmin from '../features/admin/messages.en.json';
import viApprovals from '../features/approvals/messages.vi.json';
import enApprovals from '../features/approvals/messages.en.json';
import viAudit from '../features/audit/messages.vi.json';
import enAudit from '../features/audit/messages.en.json';
import viBatches from '../features/batches/messages.vi.json';
import enBatches from '../features/batches/messages.en.json';
import viBeneficiaries from '../features/beneficiaries/messages.vi.json';
import enBeneficiaries from '../features/beneficiaries/messages.en.json';
import viCoverage from '../features/coverage/messages.vi.json';
import enCoverage from '../features/coverage/messages.en.json';
import viExports from '../features/exports/messages.vi.json';
import enExports from '../features/exports/messages.en.json';
import viHome from '../features/home/messages.vi.json';
import enHome from '../features/home/messages.en.json';
import viImports from '../features/imports/messages.vi.json';
import enImports from '../features/imports/messages.en.json';
import viNetwork from '../features/network/messages.vi.json';
import enNetwork from '../features/network/messages.en.json';
import viNotifications from '../features/notifications/messages.vi.json';
import enNotifications from '../features/notifications/messages.en.json';
import viPayPoints from '../features/paypoints/messages.vi.json';
import enPayPoints from '../features/paypoints/messages.en.json';
import viProgrammes from '../features/programmes/messages.vi.json';
import enProgrammes from '../features/programmes/messages.en.json';
import viReconciliation from '../features/reconciliation/messages.vi.json';
import enReconciliation from '../features/reconciliation/messages.en.json';

// Each feature keeps its own messages beside its pages (features/<name>/messages.vi.json, .en.json), listed here;
// keys are prefixed with the feature's name, and test/web/format.test.ts refuses a key defined twice.
const vi = {
  ...viCore,
  ...viAdmin,
  ...viApprovals,
  ...viAudit,
  ...viBatches,
  ...viBeneficiaries,
  ...viCoverage,
  ...viExports,
  ...viHome,
  ...viImports,
  ...viNetwork,
  ...viNotifications,
  ...viPayPoints,
  ...viProgrammes,
  ...viReconciliation,
};
const en = {
  ...enCore,
  ...enAdmin,
  ...enApprovals,
  ...enAudit,
  ...enBatches,
  ...enBeneficiaries,
  ...enCoverage,
  ...enExports,
  ...enHome,
  ...enImports,
  ...enNetwork,
  ...enNotifications,
  ...enPayPoints,
  ...enProgrammes,
  ...enReconciliation,
};

export type MessageKey = keyof typeof vi;
export type Lang = 'vi' | 'en';
export const LANGS: readonly Lang[] = ['vi', 'en'];

/** English must name every key Vietnamese has: a missing one fails the type check, not a user. */
const catalogues: Record<Lang, Record<MessageKey, string>> = { vi, en };

/** The message for `key` in `lang`, with `{name}` placeholders filled from `vars`. */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const text = catalogues[lang][key];
  return vars ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : text;
}

export function hasMessage(key: string): key is MessageKey {
  return key in catalogues.vi;
}

export function messageKeys(): string[] {
  return Object.keys(catalogues.vi);
}
