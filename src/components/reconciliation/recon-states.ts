/**
 * The statuses and kinds the reconciliation tables hold. Line and exception categories are the matcher's
 * (matcher.ts: CATEGORIES, LINE_CATEGORIES); these are the rest.
 */

/** How a statement arrived. */
export const STATEMENT_SOURCES = ['uploaded', 'fetched'] as const;
export type StatementSource = (typeof STATEMENT_SOURCES)[number];

/**
 * A statement: received → loading (the worker reads and stages its lines) → matched, or rejected when any line breaks
 * the format (the whole file; its problems are kept). A later statement of the same provider and day supersedes a
 * matched one (superseded_by), which keeps its status.
 */
export const STATEMENT_STATUSES = ['received', 'loading', 'matched', 'rejected'] as const;
export type StatementStatus = (typeof STATEMENT_STATUSES)[number];

/** Received but not matched yet: the sweep queues these again. */
export const UNFINISHED_STATEMENT: readonly StatementStatus[] = ['received', 'loading'];
/** Final: processing such a statement again changes nothing. */
export const FINISHED_STATEMENT: readonly StatementStatus[] = ['matched', 'rejected'];

/** A run (one per matched statement): running → done; superseded when a later statement of its provider and day is matched. */
export const RUN_STATUSES = ['running', 'done', 'superseded'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** An exception: open → resolved, or open → writeoff_proposed → resolved (a second person confirms) or open (rejected). */
export const EXCEPTION_STATUSES = ['open', 'writeoff_proposed', 'resolved'] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];

/** Resolutions staff may give an exception; a write-off needs a second person. */
export const RESOLUTIONS = ['resent', 'refunded', 'written_off', 'corrected', 'no_action'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/**
 * Resolutions the service gives by itself: `superseded` when a later statement of the day replaces the run,
 * `found_on_statement` when a payment reported missing turns up on a neighbouring day's statement.
 */
export const SYSTEM_RESOLUTIONS = ['superseded', 'found_on_statement'] as const;
export type SystemResolution = (typeof SYSTEM_RESOLUTIONS)[number];

/** What each note on an exception records: one per change of the workflow. */
export const NOTE_KINDS = ['assigned', 'comment', 'resolved', 'writeoff_proposed', 'writeoff_confirmed', 'writeoff_rejected'] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];
