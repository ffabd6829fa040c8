import type { ComponentType } from 'react';
import type { Schemas } from '../api/client';
import type { MessageKey } from '../i18n/catalogue';

type Role = Schemas['Me']['roles'][number];

export interface Section {
  path: string;
  label: MessageKey;
  /** Who sees it; the API checks again on every request. */
  roles: readonly Role[];
  /**
   * The section's pages, loaded when first opened so that the first load stays small: a component that routes
   * the paths under `path` (wouter's nested routing). Without it the section says it is coming next.
   */
  load?: () => Promise<{ default: ComponentType }>;
}

/** The console's sections by role: the navigation shows only those of the user's roles. */
export const SECTIONS: readonly Section[] = [
  { path: '/imports', label: 'nav.imports', roles: ['staff'], load: () => import('../features/imports/imports-section') },
  {
    path: '/beneficiaries',
    label: 'nav.beneficiaries',
    roles: ['staff'],
    load: () => import('../features/beneficiaries/beneficiaries-section'),
  },
  {
    path: '/programmes',
    label: 'nav.programmes',
    roles: ['staff', 'admin'],
    load: () => import('../features/programmes/programmes-section'),
  },
  {
    path: '/batches',
    label: 'nav.batches',
    // area officers and auditors read a batch here (its progress, cash hand-overs, who its SMS did not reach); only staff act
    roles: ['staff', 'approver', 'auditor'],
    load: () => import('../features/batches/batches-section'),
  },
  {
    path: '/paypoints',
    label: 'nav.paypoints',
    // the hand-overs of every batch by day and commune: area officers and auditors read it, staff set them on a batch's page
    roles: ['staff', 'approver', 'auditor'],
    load: () => import('../features/paypoints/paypoints-section'),
  },
  {
    path: '/reconciliation',
    label: 'nav.reconciliation',
    roles: ['staff'],
    load: () => import('../features/reconciliation/reconciliation-section'),
  },
  { path: '/approvals', label: 'nav.approvals', roles: ['approver'], load: () => import('../features/approvals/approvals-section') },
  { path: '/audit', label: 'nav.audit', roles: ['auditor'], load: () => import('../features/audit/audit-section') },
  { path: '/exports', label: 'nav.exports', roles: ['auditor'], load: () => import('../features/exports/exports-section') },
  { path: '/coverage', label: 'nav.coverage', roles: ['auditor'], load: () => import('../features/coverage/coverage-section') },
  {
    path: '/network',
    label: 'nav.network',
    roles: ['staff', 'auditor', 'admin'],
    load: () => import('../features/network/network-section'),
  },
  {
    path: '/notifications',
    label: 'nav.notifications',
    roles: ['staff'],
    load: () => import('../features/notifications/notifications-section'),
  },
  { path: '/users', label: 'nav.users', roles: ['admin'], load: () => import('../features/admin/users-section') },
  { path: '/areas', label: 'nav.areas', roles: ['admin'], load: () => import('../features/admin/areas-section') },
  { path: '/reference', label: 'nav.reference', roles: ['admin'], load: () => import('../features/admin/reference-section') },
  { path: '/providers', label: 'nav.providers', roles: ['admin'], load: () => import('../features/admin/providers-section') },
  {
    path: '/sms-gateways',
    label: 'nav.smsGateways',
    roles: ['admin'],
    load: () => import('../features/notifications/gateways-section'),
  },
  { path: '/queues', label: 'nav.queues', roles: ['admin'], load: () => import('../features/admin/queues-section') },
];

export function sectionsFor(roles: readonly Role[]): Section[] {
  return SECTIONS.filter((s) => s.roles.some((r) => roles.includes(r)));
}
