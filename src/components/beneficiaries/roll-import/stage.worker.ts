/**
 * Worker thread of `LocalInfileStager` (threaded): receives batches of validated rows packed by
 * `packStageInputs`, computes their keyed hashes and ciphertexts and writes them as LOAD DATA lines
 * (`writeStageBatch`, the same function the in-thread path runs), and posts the bytes back, transferred, with the rows'
 * fingerprints (RepeatFinder).
 * The file is read and validated on the main thread meanwhile: the import uses two cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DataCipher, type CipherKeyring } from '../../../platform/crypto';
import { unpackStageInputs, writeStageBatch } from './stage';
import { TsvWriter } from './tsv-writer';

export interface StageWorkerData {
  /** The bootstrap's module to load (this file); see `startStageWorker`. */
  file: string;
  keyring: CipherKeyring;
  importId: string;
}

/** A batch in: rows packed by `packStageInputs`. */
export interface StageWorkerRequest {
  seq: number;
  rows: unknown[];
  /** Whether to encrypt (writeStageRow's `seal`). */
  seal: boolean;
}

/** A batch out: its LOAD DATA bytes in order (each chunk's ArrayBuffer transferred), or what went wrong. */
export interface StageWorkerReply {
  seq: number;
  chunks?: Uint8Array[];
  /** The rows' fingerprints (RepeatFinder), transferred. */
  fps?: Uint32Array;
  error?: string;
}

if (parentPort && (workerData as Partial<StageWorkerData> | null)?.keyring) {
  const port = parentPort;
  const data = workerData as StageWorkerData;
  const cipher = DataCipher.fromKeyring(data.keyring);
  const writer = new TsvWriter();
  port.on('message', ({ seq, rows, seal }: StageWorkerRequest) => {
    try {
      const { chunks, fps } = writeStageBatch(writer, cipher, data.importId, unpackStageInputs(rows), seal);
      port.postMessage({ seq, chunks, fps } satisfies StageWorkerReply, [
        ...chunks.map((c) => c.buffer as ArrayBuffer),
        fps.buffer as ArrayBuffer,
      ]);
    } catch (e) {
      port.postMessage({ seq, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies StageWorkerReply);
    }
  });
}
