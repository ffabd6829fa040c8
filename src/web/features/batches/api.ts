import { api, newIdempotencyKey, unwrap, type Schemas } from '../../api/client';

export type Batch = Schemas['Batch'];
export type BatchItem = Schemas['BatchItem'];
export type BatchTotals = Schemas['BatchTotals'];
export type BatchStatus = Batch['status'];
export type LeftOut = Schemas['LeftOutPage']['items'][number];

export const BATCH_STATUSES: readonly BatchStatus[] = [
  'draft',
  'submitted',
  'rejected',
  'approved',
  'scheduled',
  'processing',
  'completed',
  'completed_with_failures',
  'cancelled',
];

/** Statuses in which staff may still hold, exclude or include items and run the account check (the API's EDITABLE). */
export const EDITABLE: readonly BatchStatus[] = ['draft', 'rejected'];
/** Statuses whose payments may still move: the page polls the batch and its progress while in one. */
export const LIVE: readonly BatchStatus[] = ['scheduled', 'processing'];

export interface BatchFilter {
  status?: BatchStatus | undefined;
  programmeId?: number | undefined;
  period?: string | undefined;
  areaId?: number | undefined;
}

export interface ItemFilter {
  review?: 'included' | 'held' | 'excluded' | undefined;
  channel?: 'BANK' | 'WALLET' | 'CASH' | undefined;
  bankCode?: string | undefined;
  areaId?: number | undefined;
  flagged?: 'true' | undefined;
}

/** A fresh key per user action: a retried or double-sent request is answered once by the API. */
export function idempotencyKey(): { 'Idempotency-Key': string } {
  return { 'Idempotency-Key': newIdempotencyKey() };
}

export const keys = {
  list: (f: BatchFilter) => ['batches', 'list', f] as const,
  batch: (id: string) => ['batches', id] as const,
};

export const fetchBatches = (f: BatchFilter, cursor: string | undefined, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches', { params: { query: { ...f, cursor, limit: 20 } }, signal }));

export const fetchBatch = (id: string, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}', { params: { path: { id } }, signal }));

/** A grouped scan of every item of the batch: `signal` aborts it when the page is left before it answers. */
export const fetchTotals = (id: string, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}/totals', { params: { path: { id } }, signal }));

export const fetchProgress = (id: string, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}/progress', { params: { path: { id } }, signal }));

export const fetchTransitions = (id: string, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}/transitions', { params: { path: { id } }, signal }));

export const fetchItems = (id: string, f: ItemFilter, cursor: string | undefined, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}/items', { params: { path: { id }, query: { ...f, cursor, limit: 50 } }, signal }));

export const fetchLeftOut = (id: string, cursor: string | undefined, signal?: AbortSignal) =>
  unwrap(api.GET('/api/v1/batches/{id}/left-out', { params: { path: { id }, query: { cursor, limit: 20 } }, signal }));

export const fetchProgrammes = () => unwrap(api.GET('/api/v1/programmes', { params: { query: { active: 'true', limit: 200 } } }));

export const fetchAreas = (q: string | undefined) =>
  unwrap(api.GET('/api/v1/areas', { params: { query: { q: q || undefined, active: 'true', limit: 50 } } }));
