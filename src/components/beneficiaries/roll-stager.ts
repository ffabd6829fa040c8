import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { insertSql, stageRow, type StageInput } from './roll-stage';

/** Writes validated rows to an import's staging table; `stage` returns once there is room for more (backpressure). */
export interface Stager {
  stage(importId: string, batch: StageInput[]): Promise<void>;
  /** Waits for every batch to be written; throws the first failure. */
  finish(): Promise<void>;
}

/** Encrypts in this thread; up to `inFlight` inserts run on their own pool connections while the file is read on. */
export class InProcessStager implements Stager {
  private readonly pending: Promise<unknown>[] = [];

  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly table: string,
    private readonly inFlight = 2,
  ) {}

  async stage(importId: string, batch: StageInput[]): Promise<void> {
    const rows = batch.map((b) => stageRow(this.cipher, importId, b));
    const p = this.ds.query(insertSql(this.table), [rows]);
    p.catch(() => undefined); // surfaced by the await below or by finish()
    this.pending.push(p);
    while (this.pending.length > this.inFlight) await this.pending.shift();
  }

  async finish(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
}
