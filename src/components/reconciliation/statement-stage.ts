import { Readable } from 'node:stream';
import type { QueryRunner } from 'typeorm';
import { AppError } from '../../platform/errors';

/** One checked statement line with its reference resolved to a payment key (0, 0 when it names none of ours). */
export interface StageRow {
  lineNo: number;
  batchId: string;
  seq: string;
  reference: string;
  transferId: string | null;
  status: string;
  amount: number | null;
  currency: string | null;
  failureCode: string | null;
  occurredAt: string;
}

const COLUMNS = '(line_no, batch_id, seq, reference, transfer_id, status, amount, currency, failure_code, occurred_at)';

/** The staging table `recon_stage`, made afresh on the runner's connection (temporary: that connection's alone). */
export async function createStageTable(qr: QueryRunner): Promise<void> {
  await dropStageTable(qr);
  await qr.query(`CREATE TEMPORARY TABLE recon_stage (
    line_no INT UNSIGNED NOT NULL, batch_id BIGINT UNSIGNED NOT NULL, seq BIGINT UNSIGNED NOT NULL,
    reference VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, transfer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, amount BIGINT NULL, currency CHAR(3) CHARACTER SET ascii COLLATE ascii_bin NULL,
    failure_code VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL, occurred_at VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (line_no)) ENGINE=InnoDB`);
}

export async function dropStageTable(qr: QueryRunner): Promise<void> {
  await qr.query('DROP TEMPORARY TABLE IF EXISTS recon_stage');
}

/** Where staged lines go: `add` groups in file order, then `finish` (or `abandon` when the file turned out bad). */
export interface StatementStager {
  add(rows: StageRow[]): Promise<void>;
  finish(): Promise<void>;
  abandon(): Promise<void>;
}

/** Server answers meaning "LOCAL INFILE is not allowed here" (switched off on the server, or the client flag refused). */
const INFILE_REFUSED = new Set([1148, 3948, 2068, 4166]);
/** Text allowed to wait for the server before `add` holds the reader back. */
const BACKLOG = 4 * 1024 * 1024;

interface InfileConnection {
  query(
    opts: { sql: string; infileStreamFactory: (path: string) => Readable },
    cb: (err: (Error & { errno?: number }) | null, result?: { affectedRows?: number; warningStatus?: number }) => void,
  ): unknown;
}

/** A value in LOAD DATA's default format: `\N` for NULL; backslash, tab and newline escaped (nothing else is special). */
function field(v: string | number | null): string {
  if (v === null) return '\\N';
  const s = String(v);
  return /[\\\t\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : s;
}

function tsv(rows: StageRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${r.lineNo}\t${r.batchId}\t${r.seq}\t${field(r.reference)}\t${field(r.transferId)}\t${r.status}\t${field(r.amount)}\t${field(r.currency)}\t${field(r.failureCode)}\t${field(r.occurredAt)}\n`;
  }
  return out;
}

/**
 * Streams the lines into `recon_stage` with one LOAD DATA LOCAL INFILE on the
 * runner's connection (the temporary table is that connection's). Null when
 * the server refuses LOCAL INFILE (MySQL 8's default): use `insertStager`.
 */
export async function localInfileStager(qr: QueryRunner): Promise<StatementStager | null> {
  const conn = (await qr.connect()) as InfileConnection;
  let wake: (() => void) | null = null;
  const source = new Readable({
    highWaterMark: BACKLOG,
    read() {
      const w = wake;
      wake = null;
      w?.();
    },
  });
  let started!: () => void;
  const asked = new Promise<void>((resolve) => (started = resolve));
  let count = 0;
  const done = new Promise<{ affectedRows?: number; warningStatus?: number }>((resolve, reject) => {
    conn.query(
      {
        sql: `LOAD DATA LOCAL INFILE 'statement-lines' INTO TABLE recon_stage CHARACTER SET ascii ${COLUMNS}`,
        infileStreamFactory: () => {
          started();
          return source;
        },
      },
      (err, result) => (err ? reject(err) : resolve(result ?? {})),
    );
  });
  // awaited in finish(); a failure mid-load must not leave `add` waiting for a reader that is gone
  done.catch(() => {
    const w = wake;
    wake = null;
    w?.();
  });
  try {
    await Promise.race([asked, done]);
  } catch (e) {
    if (INFILE_REFUSED.has((e as { errno?: number }).errno ?? 0)) return null;
    throw e;
  }
  const end = async (): Promise<{ affectedRows?: number; warningStatus?: number }> => {
    source.push(null);
    return done;
  };
  return {
    async add(rows) {
      count += rows.length;
      if (!source.push(tsv(rows))) await new Promise<void>((r) => (wake = r));
    },
    async finish() {
      const res = await end();
      // LOCAL turns data errors into warnings: a line the table did not take as written is a fault, never a silent loss
      if ((res.warningStatus ?? 0) !== 0 || res.affectedRows !== count) {
        throw new AppError(
          'internal',
          'STATEMENT_STAGE_MISMATCH',
          `staging took ${res.affectedRows} of ${count} lines with ${res.warningStatus} warning(s)`,
        );
      }
    },
    async abandon() {
      await end().catch(() => undefined);
    },
  };
}

/** The same with multi-row INSERTs, one in flight while the next group is read. */
export function insertStager(qr: QueryRunner): StatementStager {
  let inFlight: Promise<unknown> = Promise.resolve();
  return {
    async add(rows) {
      const params: unknown[] = [];
      for (const r of rows) {
        params.push(r.lineNo, r.batchId, r.seq, r.reference, r.transferId, r.status, r.amount, r.currency, r.failureCode, r.occurredAt);
      }
      await inFlight;
      inFlight = qr.query(
        `INSERT INTO recon_stage ${COLUMNS} VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        params,
      );
    },
    async finish() {
      await inFlight;
    },
    async abandon() {
      await inFlight.catch(() => undefined);
    },
  };
}
