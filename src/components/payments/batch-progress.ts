import type { DataSource } from 'typeorm';
import type { Principal } from '../../platform/security';
import type { BatchesService } from '../batches';

export interface BatchProgressView {
  batchId: string;
  status: string;
  byStatus: { status: string; count: number; amount: number }[];
}

/** The live progress of a batch the caller may see: its included payments counted and summed by status. */
export class BatchProgress {
  constructor(
    private readonly ds: DataSource,
    private readonly batches: BatchesService,
  ) {}

  async get(p: Principal, batchId: string): Promise<BatchProgressView> {
    // the scoped read first: a batch outside the caller's scope is a 404, not an empty progress
    const b = await this.batches.get(p, batchId);
    const rows = (await this.ds.query(
      "SELECT status, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM payments WHERE batch_id = ? AND review = 'included' GROUP BY status ORDER BY status",
      [b.id],
    )) as { status: string; n: string; amount: string }[];
    return {
      batchId: b.id,
      status: b.status,
      byStatus: rows.map((r) => ({ status: r.status, count: Number(r.n), amount: Number(r.amount) })),
    };
  }
}
