import { api, unwrap, type Schemas } from '../../api/client';

export type Batch = Schemas['Batch'];
export type BatchItem = Schemas['BatchItem'];
export type BatchTotals = Schemas['BatchTotals'];
export type LeftOut = Schemas['LeftOutPage']['items'][number];

export const PAGE_SIZE = 20;

/** What the approver states they reviewed, and the step-up code the API asks for on an approval. */
export interface ApprovalInput {
  itemCount: number;
  totalAmount: number;
  version: number;
  totp: string;
  note?: string;
}

export const approvalsApi = {
  inbox: (cursor: string | undefined, signal?: AbortSignal) =>
    unwrap(api.GET('/api/v1/batches', { params: { query: { status: 'submitted', limit: PAGE_SIZE, cursor } }, signal })),
  batch: (id: string, signal?: AbortSignal) => unwrap(api.GET('/api/v1/batches/{id}', { params: { path: { id } }, signal })),
  /** A grouped scan of every item: `signal` aborts it when the page is left before it answers. */
  totals: (id: string, signal?: AbortSignal) => unwrap(api.GET('/api/v1/batches/{id}/totals', { params: { path: { id } }, signal })),
  items: (id: string, filter: { flagged?: 'true'; review?: 'held' }, cursor: string | undefined, signal?: AbortSignal) =>
    unwrap(api.GET('/api/v1/batches/{id}/items', { params: { path: { id }, query: { ...filter, limit: PAGE_SIZE, cursor } }, signal })),
  leftOut: (id: string, cursor: string | undefined, signal?: AbortSignal) =>
    unwrap(api.GET('/api/v1/batches/{id}/left-out', { params: { path: { id }, query: { limit: PAGE_SIZE, cursor } }, signal })),
  approve: (id: string, body: ApprovalInput, idempotencyKey: string) =>
    unwrap(
      api.POST('/api/v1/batches/{id}/approve', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        // `totp` is the step-up the API asks of an approval
        body: body as Schemas['Approval'],
      }),
    ),
  reject: (id: string, reason: string, idempotencyKey: string) =>
    unwrap(
      api.POST('/api/v1/batches/{id}/reject', {
        params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
        body: { reason },
      }),
    ),
};
