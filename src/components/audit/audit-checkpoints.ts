import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../../platform/canonical-json';
import { checkpointMac, macMatches, type Checkpoint } from './audit-hash';

/** A checkpoint line is about 250 bytes: the newest complete line is always within this tail. */
const TAIL_BYTES = 16 * 1024;

export type LatestCheckpoint = { checkpoint: Checkpoint | null; problem: null } | { checkpoint: null; problem: string };

/**
 * The audit chain's checkpoints, one JSON line each, appended to
 * `<dir>/audit-checkpoints.jsonl` and synced to disk. The directory belongs
 * outside the database's reach: whoever can rewrite the database cannot take
 * back what was written here, so a removed tail shows against the last line.
 */
export class AuditCheckpoints {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly key: string,
  ) {
    this.file = path.resolve(dir, 'audit-checkpoints.jsonl');
  }

  async append(c: Checkpoint): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const fh = await open(this.file, 'a', 0o600);
    try {
      // one write of a whole line: appends of several processes do not interleave
      await fh.write(`${canonicalJson(c)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** The newest checkpoint; a line cut short by a crash while it was written is skipped, any other bad line is a problem. */
  async latest(): Promise<LatestCheckpoint> {
    const fh = await open(this.file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!fh) return { checkpoint: null, problem: null };
    let text: string;
    let fromStart: boolean;
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      text = buf.toString('utf8');
      fromStart = start === 0;
    } finally {
      await fh.close();
    }
    const lines = text.split('\n');
    lines.pop();
    if (!fromStart) lines.shift();
    const line = lines.reverse().find((l) => l.trim() !== '');
    if (line === undefined) return { checkpoint: null, problem: null };
    return this.parse(line);
  }

  private parse(line: string): LatestCheckpoint {
    let v: Partial<Checkpoint>;
    try {
      v = JSON.parse(line) as Partial<Checkpoint>;
    } catch {
      return { checkpoint: null, problem: `the last line of ${this.file} is not a checkpoint` };
    }
    const c = {
      lastId: String(v.lastId),
      lastHash: String(v.lastHash),
      count: Number(v.count),
      at: String(v.at),
    };
    if (!/^\d+$/.test(c.lastId) || !Number.isSafeInteger(c.count) || !macMatches(checkpointMac(this.key, c), v.mac)) {
      return { checkpoint: null, problem: `the last checkpoint in ${this.file} fails its key check: it was not written by this service` };
    }
    return { checkpoint: { ...c, mac: v.mac! }, problem: null };
  }
}
