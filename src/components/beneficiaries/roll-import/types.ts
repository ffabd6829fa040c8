import type { ImportStatus } from '../roll-imports.service';
import type { RollFormat } from './file-reader';

/** An import as the runner reads it from roll_imports. */
export interface ImportRow {
  id: string;
  file_name: string;
  format: RollFormat;
  status: ImportStatus;
  uploaded_by: number;
  scope_area_id: number | null;
  request_id: string | null;
}

/** The rows every accepted row refers to (the foreign keys of people and enrolments), as the file named them. */
export interface Parents {
  areas: Set<number>;
  programmes: Set<number>;
  banks: Set<string>;
  wallets: Set<string>;
}

/** How a runner imports; every option has the production default. */
export interface RollImportOptions {
  /**
   * How rows reach the staging table: `auto` streams them with LOAD DATA LOCAL INFILE when the server allows it and
   * falls back to multi-row INSERTs when it refuses; `insert` always uses INSERTs.
   */
  stagingMode?: 'auto' | 'insert';
  /**
   * LOAD DATA staging makes the rows' hashes, ciphertexts and bytes in a worker thread while this one reads and
   * validates the file (two cores instead of one); false makes them here (same bytes).
   */
  stagingThread?: boolean;
  /**
   * A first import inserts its enrolments on a second connection beside its people (an XA branch committed with the
   * merge); false inserts them after the people in the one transaction (also what happens when XA RECOVER is not
   * allowed to the service's database user).
   */
  parallelMerge?: boolean;
  /** Whether to encrypt while reading: as the first batch suggests (see read.ts, sealWhileReading), always, or never. */
  sealing?: 'auto' | 'always' | 'never';
  /** Staging batches between two looks at whether to encrypt while reading. */
  probeEvery?: number;
  /** Runs after the checks, before the fill pass reads the file again (tests: a file changed in between). */
  beforeFill?: (filePath: string) => Promise<void>;
  /** Runs between the merge's commit and the commit of its XA branch (tests: a process stopping there). */
  afterDecision?: () => Promise<void>;
}

export const DEFAULT_OPTIONS: Required<
  Pick<RollImportOptions, 'stagingMode' | 'stagingThread' | 'parallelMerge' | 'sealing' | 'probeEvery'>
> = {
  stagingMode: 'auto',
  stagingThread: true,
  parallelMerge: true,
  sealing: 'auto',
  probeEvery: 25,
};

/** What one run of an import did and how long it took, for logs and benchmarks. */
export interface RollImportReport {
  importId: string;
  /** Data rows read from the file. */
  rows: number;
  /** How the rows were staged: one LOAD DATA stream, or multi-row INSERTs. */
  staging: 'load' | 'insert';
  /** Milliseconds the reader waited for the staging thread, the server (LOAD DATA only, else null) and its own writes. */
  waits: { threadMs: number; serverMs: number; problemsMs: number } | null;
  /** Whether every row was encrypted while reading, and how many rows the fill pass encrypted afterwards. */
  fill: { sealedWhileReading: boolean; filled: number };
  /** How the merge went: inserts only, into an empty roll without unique checks (bulk), or with updates. */
  merge: 'bulk' | 'insert' | 'update';
  /** Candidates for repeats found while reading, and the rows the checks within the file looked at. */
  repeats: { candidates: number; rowsChecked: number };
  /** Phase durations. */
  timings: { readMs: number; checkMs: number; mergeMs: number; analyzeMs: number };
}
