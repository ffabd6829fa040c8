import type { Api } from '../../platform/http';
import { dashboardQuery, dashboardSchema } from './dashboard.schemas';
import type { DashboardService } from './dashboard.service';

export function registerDashboardRoutes(api: Api, dashboard: DashboardService): void {
  api.route({
    method: 'get',
    path: '/dashboard',
    summary: "The month's figures in your area: batches by status, amounts, progress, open exceptions, cashless share",
    description:
      'Batches paying the month in your scope by status (as GET /batches?period=); approved: payments of batches approved or beyond; ' +
      'paid, failed, returned: payments of the released batches in that status; in progress: the payments of batches still processing; ' +
      'open reconciliation exceptions by days since their business date; the cashless share of the 12 months ending with the month (as GET /coverage). ' +
      'A caller who is only an admin gets no payment figures (money: null).',
    tags: ['dashboard'],
    access: ['staff', 'approver', 'auditor', 'admin'],
    query: dashboardQuery,
    responses: { 200: { description: 'The figures', schema: dashboardSchema } },
    handler: ({ query }, ctx) => dashboard.summary(ctx.principal, query.month),
  });
}
