import { conflict } from '../../platform/errors';

/**
 * draft → submitted → approved → scheduled → processing → completed | completed_with_failures,
 * with rejected (back to staff, who may edit and submit again) and cancelled (any time before processing).
 */
export const BATCH_STATUSES = [
  'draft',
  'submitted',
  'rejected',
  'approved',
  'scheduled',
  'processing',
  'completed',
  'completed_with_failures',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** What a person (or the scheduler, or the engine) asks of a batch. */
export type BatchAction = 'submit' | 'approve' | 'reject' | 'cancel' | 'schedule' | 'release' | 'complete';

/** The one table of legal moves: action → from which statuses, to which. */
export const TRANSITIONS: Record<BatchAction, { from: readonly BatchStatus[]; to: BatchStatus | 'completed*' }> = {
  submit: { from: ['draft', 'rejected'], to: 'submitted' },
  approve: { from: ['submitted'], to: 'approved' },
  reject: { from: ['submitted'], to: 'rejected' },
  cancel: { from: ['draft', 'submitted', 'rejected', 'approved', 'scheduled'], to: 'cancelled' },
  // scheduling again moves the time of a scheduled batch
  schedule: { from: ['approved', 'scheduled'], to: 'scheduled' },
  // released at once, an approved batch passes through scheduled (recorded) on its way to processing
  release: { from: ['approved', 'scheduled'], to: 'processing' },
  complete: { from: ['processing'], to: 'completed*' },
};

/** Statuses in which staff may still change which items the batch pays. */
export const EDITABLE: readonly BatchStatus[] = ['draft', 'rejected'];

/** Statuses whose payments are committed: approved by an officer, or beyond. */
export const APPROVED_OR_LATER: readonly BatchStatus[] = ['approved', 'scheduled', 'processing', 'completed', 'completed_with_failures'];

/** Statuses of a batch that was released: its payments went (or go) to the providers. */
export const RELEASED: readonly BatchStatus[] = ['processing', 'completed', 'completed_with_failures'];

export function canDo(action: BatchAction, from: BatchStatus): boolean {
  return TRANSITIONS[action].from.includes(from);
}

/** 409 BATCH_ILLEGAL_TRANSITION naming the status and the move, with what the status does allow. */
export function assertCan(action: BatchAction, from: BatchStatus): void {
  if (canDo(action, from)) return;
  const allowed = (Object.keys(TRANSITIONS) as BatchAction[]).filter((a) => a !== 'complete' && canDo(a, from));
  throw conflict('BATCH_ILLEGAL_TRANSITION', `a batch that is ${from} cannot be ${pastTense(action)}`, {
    status: from,
    action,
    allowed,
  });
}

function pastTense(a: BatchAction): string {
  return {
    submit: 'submitted',
    approve: 'approved',
    reject: 'rejected',
    cancel: 'cancelled',
    schedule: 'scheduled',
    release: 'released',
    complete: 'completed',
  }[a];
}

/** 409 BATCH_NOT_EDITABLE: items can change only in draft or rejected. */
export function assertEditable(status: BatchStatus): void {
  if (!EDITABLE.includes(status)) {
    throw conflict('BATCH_NOT_EDITABLE', `a batch that is ${status} cannot be changed; only draft or rejected batches can`, { status });
  }
}
