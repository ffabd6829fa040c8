import { once } from 'node:events';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { DataSource, QueryRunner } from 'typeorm';
import type { DataCipher } from '../../../platform/crypto';
import { FINGERPRINTS_PER_ROW, RepeatFinder } from './repeats';
import {
  insertSql,
  loadSql,
  packStageInputs,
  stageRow,
  stageRowFingerprints,
  stageValues,
  writeStageBatch,
  type StagedBatch,
  type StageInput,
} from './stage';
import type { StageWorkerData, StageWorkerReply, StageWorkerRequest } from './stage.worker';
import { TsvWriter } from './tsv-writer';

/** Writes validated rows to an import's staging table; `stage` returns once there is room for more (backpressure). */
export interface Stager {
  /** `seal` false: without ciphertexts (see writeStageRow). */
  stage(importId: string, batch: StageInput[], seal: boolean): Promise<void>;
  /** Waits for every batch to be written; throws the first failure. */
  finish(): Promise<void>;
  /** The national IDs and accounts on more than one of the staged rows (complete once `finish` has returned). */
  readonly repeats: RepeatFinder;
}

/** Encrypts in this thread; up to `inFlight` inserts run on their own pool connections while the file is read on. */
export class InProcessStager implements Stager {
  private readonly pending: Promise<unknown>[] = [];
  readonly repeats = new RepeatFinder();

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly table: string,
    private readonly inFlight = 2,
  ) {}

  async stage(importId: string, batch: StageInput[], seal: boolean): Promise<void> {
    const rows = batch.map((b) => stageRow(this.cipher, importId, b, seal));
    this.repeats.note(stageRowFingerprints(rows), rows.length);
    const p = this.ds.query(insertSql(this.table), [rows.map(stageValues)]);
    p.catch(() => undefined); // surfaced by the await below or by finish()
    this.pending.push(p);
    while (this.pending.length > this.inFlight) await this.pending.shift();
  }

  async finish(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
}

/** The part of a mysql2 connection this needs: a query with a stream factory for LOCAL INFILE, and its socket. */
interface InfileConnection {
  query(
    opts: { sql: string; infileStreamFactory: (path: string) => Readable },
    cb: (err: (Error & { errno?: number }) | null, result?: { affectedRows?: number; warningStatus?: number }) => void,
  ): unknown;
  stream: Writable;
}

/** Server answers that mean "LOCAL INFILE is not allowed here" (MariaDB/MySQL switched off, or the client flag refused). */
const INFILE_REFUSED = new Set([1148, 3948, 2068, 4166]);
/** Bytes allowed to wait in the socket before the reader is held back. */
const SOCKET_BACKLOG = 4 * 1024 * 1024;
/** Batches posted to the staging thread and not yet written back: enough to keep it busy, few enough to keep memory flat. */
const THREAD_IN_FLIGHT = 3;
/**
 * The staging thread's V8 heap: it holds a few batches at a time. A small young generation keeps its garbage from
 * piling up between scavenges (the process's peak memory), at a few percent of its speed.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 };

/**
 * Starts stage.worker in a thread. The module is the sibling of this one with this one's extension: `.js` when
 * built, `.ts` when run through tsx, where the thread registers tsx itself unless the process's loader flags did.
 */
function startStageWorker(cipher: DataCipher, importId: string): Worker {
  const file = path.join(__dirname, `stage.worker${path.extname(__filename)}`);
  const data: StageWorkerData = { file, keyring: cipher.keyring(), importId };
  const bootstrap = `const { workerData } = require('node:worker_threads');
    if (workerData.file.endsWith('.ts') && !require.extensions['.ts']) require('tsx/cjs');
    require(workerData.file);`;
  return new Worker(bootstrap, { eval: true, workerData: data, resourceLimits: THREAD_LIMITS });
}

/** One staging thread: batches in, their LOAD DATA bytes out in the same order. */
class StageThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (out: StagedBatch) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  constructor(cipher: DataCipher, importId: string) {
    this.worker = startStageWorker(cipher, importId);
    this.worker.on('message', ({ seq, chunks, fps, error }: StageWorkerReply) => {
      const w = this.waiting.get(seq);
      this.waiting.delete(seq);
      if (!w) return;
      if (error !== undefined) w.reject(new Error(`staging thread: ${error}`));
      else w.resolve({ chunks: chunks!.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)), fps: fps! });
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`staging thread exited (${code})`)));
  }

  /** The batch's LOAD DATA bytes and fingerprints, once the thread has written them. */
  encode(batch: StageInput[], seal: boolean): Promise<StagedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.seq++;
    const done = new Promise<StagedBatch>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    this.worker.postMessage({ seq, rows: packStageInputs(batch), seal } satisfies StageWorkerRequest);
    return done;
  }

  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Streams validated rows into the staging table through one `LOAD DATA LOCAL INFILE`, written as bytes by
 * `writeStageRow`: about twice as cheap for the server as multi-row INSERTs, and without building SQL text in
 * JavaScript. `open` answers null when the server refuses LOCAL INFILE (MySQL 8's default), so that the caller
 * falls back to `InProcessStager`.
 */
export class LocalInfileStager implements Stager {
  private readonly writer = new TsvWriter();
  private readonly source = new Readable({ read() {} });
  private rows = 0;
  private ended = false;
  /** Batches not yet handed to the LOAD, in file order: written here (chunks) or still in the staging thread (pending). */
  private readonly queue: { chunks: Buffer[] | null; pending: Promise<StagedBatch> | null }[] = [];
  /** Batches the staging thread holds. */
  private inThread = 0;
  readonly repeats = new RepeatFinder();

  private constructor(
    private readonly cipher: DataCipher,
    private readonly runner: QueryRunner,
    private readonly socket: Writable,
    private readonly done: Promise<{ affectedRows?: number; warningStatus?: number }>,
    private readonly thread: StageThread | null,
  ) {}

  /**
   * `threaded`: the rows' hashes, ciphertexts and bytes are made in a worker thread while this thread reads and
   * validates the file (the output is the same: both run `writeStageRow`).
   */
  static async open(
    ds: DataSource,
    cipher: DataCipher,
    table: string,
    importId: string,
    threaded: boolean,
  ): Promise<LocalInfileStager | null> {
    const runner = ds.createQueryRunner();
    const conn = (await runner.connect()) as InfileConnection;
    let source: Readable | null = null;
    let started!: () => void;
    const asked = new Promise<void>((resolve) => (started = resolve));
    const done = new Promise<{ affectedRows?: number; warningStatus?: number }>((resolve, reject) => {
      conn.query(
        {
          sql: loadSql(table),
          infileStreamFactory: () => {
            started();
            return source!;
          },
        },
        (err, result) => (err ? reject(err) : resolve(result ?? {})),
      );
    });
    done.catch(() => undefined); // awaited in finish()
    const stager = new LocalInfileStager(cipher, runner, conn.stream, done, threaded ? new StageThread(cipher, importId) : null);
    source = stager.source;
    try {
      await Promise.race([asked, done]);
    } catch (e) {
      await stager.thread?.stop();
      await runner.release();
      if (INFILE_REFUSED.has((e as { errno?: number }).errno ?? 0)) return null;
      throw e;
    }
    return stager;
  }

  async stage(importId: string, batch: StageInput[], seal: boolean): Promise<void> {
    this.rows += batch.length;
    if (!this.thread) {
      const { chunks, fps } = writeStageBatch(this.writer, this.cipher, importId, batch, seal);
      this.repeats.note(fps, batch.length);
      for (const c of chunks) await this.push(c);
      return;
    }
    // The staging thread takes a batch while it has room; otherwise this thread writes the batch itself: the work is
    // shared between the two cores in whatever proportion keeps both busy (reading and validating the file costs about
    // half of what hashing, encrypting and writing the rows does).
    if (this.inThread < THREAD_IN_FLIGHT) {
      const entry: (typeof this.queue)[number] = { chunks: null, pending: this.thread.encode(batch, seal) };
      this.inThread += 1;
      entry.pending!.then(
        ({ chunks, fps }) => {
          entry.chunks = chunks;
          this.repeats.note(fps, fps.length / FINGERPRINTS_PER_ROW);
          this.inThread -= 1;
        },
        () => (this.inThread -= 1), // the failure is thrown where the entry is awaited
      );
      this.queue.push(entry);
    } else {
      const { chunks, fps } = writeStageBatch(this.writer, this.cipher, importId, batch, seal);
      this.repeats.note(fps, batch.length);
      this.queue.push({ chunks, pending: null });
    }
    // hand over what is ready, in order; wait for the oldest batch only when too many are held
    while (this.queue.length && (this.queue[0]!.chunks || this.queue.length > THREAD_IN_FLIGHT + 2)) await this.pushHead();
  }

  /** Milliseconds the reader waited: for the staging thread's bytes, and for the server to take them (benchmarks). */
  readonly waited = { threadMs: 0, serverMs: 0, problemsMs: 0 };

  private async pushHead(): Promise<void> {
    const head = this.queue.shift()!;
    let chunks = head.chunks;
    if (!chunks) {
      const t = performance.now();
      chunks = (await head.pending!).chunks;
      this.waited.threadMs += performance.now() - t;
    }
    for (const c of chunks) await this.push(c);
  }

  private async push(chunk: Buffer): Promise<void> {
    this.source.push(chunk);
    // mysql2 writes each chunk to the socket at once: hold the reader back while the server is behind
    if ((this.socket as Writable & { writableLength: number }).writableLength > SOCKET_BACKLOG) {
      const t = performance.now();
      await Promise.race([once(this.socket, 'drain'), this.done.catch(() => undefined)]);
      this.waited.serverMs += performance.now() - t;
    }
  }

  async finish(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    let failure: unknown = null;
    try {
      while (this.queue.length) await this.pushHead();
      if (this.writer.length) this.source.push(this.writer.take());
    } catch (e) {
      failure = e; // the LOAD is still ended below, so that its connection goes back to the pool idle
      this.queue.splice(0);
    }
    try {
      this.source.push(null);
      const res = await this.done;
      if (failure) throw failure;
      // LOCAL makes data errors warnings: a row the table did not take as written is a fault, never a silent loss
      if ((res.affectedRows ?? -1) !== this.rows || (res.warningStatus ?? 0) !== 0) {
        throw new Error(`staging load took ${res.affectedRows ?? '?'} of ${this.rows} rows with ${res.warningStatus ?? '?'} warnings`);
      }
    } finally {
      await this.thread?.stop();
      await this.runner.release();
    }
  }
}
