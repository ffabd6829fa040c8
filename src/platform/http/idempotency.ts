import type { Request, Response } from 'express';
import type { DataSource, EntityManager } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../crypto';
import { ownedColumn, type SealedColumn } from '../crypto/rotation';
import { canonicalJson } from '../canonical-json';
import { AppError, conflict, invalid, unavailable, type ErrorKind } from '../errors';
import { isDuplicateKey } from '../db/sql';

export { canonicalJson };

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** in_progress: from the insert that claims the key until the answer is stored; completed: from then on. */
export type IdempotencyState = 'in_progress' | 'completed';

/** An answer as sent, replayed byte for byte; a null body is an empty one (204). */
export interface StoredResponse {
  status: number;
  body: string | null;
}

/** The request a key was sent with: the route pattern (`/api/v1/users/:id`), not the raw URL. */
export interface IdempotentRequest {
  userId: number;
  key: string;
  method: string;
  route: string;
  hash: string;
}

type Claim = { kind: 'claimed'; id: string } | { kind: 'replay'; response: StoredResponse };

interface KeyRow {
  id: string;
  request_hash: string;
  state: IdempotencyState;
  response_status: number | null;
  response_body: Buffer | null;
  expired: number | string;
}

/** Refusals that depend only on the request and the data: asking again gives the same answer, so it is kept. */
const KEPT_ERROR_KINDS: ReadonlySet<ErrorKind> = new Set(['invalid', 'forbidden', 'not_found', 'conflict']);

/** Claiming a key can lose a race to another request (or its clean-up) this many times before giving up. */
const CLAIM_ATTEMPTS = 4;

/** The Idempotency-Key header, undefined when absent; a malformed one is refused. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.header(IDEMPOTENCY_KEY_HEADER);
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw invalid('INVALID_IDEMPOTENCY_KEY', `${IDEMPOTENCY_KEY_HEADER} must be 1 to 128 characters of A-Z a-z 0-9 _ . : -`);
  }
  return key;
}

function isDeadlock(e: unknown): boolean {
  return ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes((e as { code?: string }).code ?? '');
}

function errorResponse(err: AppError, requestId: string): StoredResponse {
  // the shape errorHandler sends: the first answer and its replays come from this one string
  const error = { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}), requestId };
  return { status: err.status, body: JSON.stringify({ error }) };
}

function send(res: Response, r: StoredResponse, replayed: boolean): void {
  res.status(r.status);
  if (replayed) res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
  if (r.body === null) res.end();
  else res.type('application/json').send(r.body);
}

/**
 * Idempotency keys per caller (Mojaloop style: the same key with the same
 * request is a replay, with another request a conflict). The first request
 * claims the key with an INSERT, so of concurrent ones exactly one runs; its
 * answer is stored and replayed to the others. Keys live 24 hours.
 */
export class IdempotencyStore {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: Pick<DataCipher, 'encrypt' | 'decrypt' | 'lookupHash'>,
    private readonly log: winston.Logger,
  ) {}

  /** Deletes expired keys in chunks (a scheduled job); returns how many. */
  async purgeExpired(chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const res = (await this.ds.query('DELETE FROM idempotency_keys WHERE expires_at <= NOW(3) LIMIT ?', [chunk])) as {
        affectedRows: number;
      };
      total += res.affectedRows;
      if (res.affectedRows < chunk) return total;
    }
  }

  /** Keyed hash of what makes two requests the same: method, route, parameters, query and canonical body. */
  requestHash(req: Request, route: string): string {
    const canonical = canonicalJson({ method: req.method, route, params: req.params ?? {}, query: req.query ?? {}, body: req.body ?? {} });
    return this.cipher.lookupHash('idempotency', canonical).toString('hex');
  }

  /**
   * Runs `handler` once per key: claims the key, runs, stores the answer and
   * sends it; or sends the stored answer of the request that ran. An
   * unexpected failure releases the key so that the client can try again.
   */
  async handle(
    request: IdempotentRequest,
    res: Response,
    requestId: string,
    handler: () => Promise<StoredResponse | undefined>,
  ): Promise<void> {
    const claim = await this.claim(request);
    if (claim.kind === 'replay') {
      send(res, claim.response, true);
      return;
    }
    let response: StoredResponse | undefined;
    try {
      response = await handler();
    } catch (err) {
      if (!(err instanceof AppError && KEPT_ERROR_KINDS.has(err.kind))) {
        await this.release(claim.id);
        throw err;
      }
      response = errorResponse(err, requestId);
    }
    if (response === undefined) {
      // the handler answered by itself (not JSON): nothing to replay
      await this.release(claim.id);
      return;
    }
    try {
      await this.complete(claim.id, response);
    } catch (err) {
      // the work is done: answer it; the key stays in_progress, so a retry is refused rather than run twice
      this.log.error('storing an idempotent answer failed', { requestId, idempotencyKeyId: claim.id, err });
    }
    send(res, response, false);
  }

  private async claim(r: IdempotentRequest): Promise<Claim> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const id = await this.insert(this.ds.manager, r);
      if (id) return { kind: 'claimed', id };
      const row = await this.find(r);
      if (!row) continue; // released by its request after our insert failed
      if (Number(row.expired)) {
        const replaced = await this.replaceExpired(row.id, r);
        if (replaced) return { kind: 'claimed', id: replaced };
        continue;
      }
      if (row.request_hash !== r.hash) {
        throw conflict('IDEMPOTENCY_KEY_REUSED', `this ${IDEMPOTENCY_KEY_HEADER} was used for another request; use a new key`);
      }
      if (row.state === 'in_progress') {
        throw conflict(
          'IDEMPOTENCY_REQUEST_IN_PROGRESS',
          `a request with this ${IDEMPOTENCY_KEY_HEADER} is still running; try again shortly`,
        );
      }
      const body = row.response_body === null ? null : this.cipher.decrypt(row.response_body, aadOf(row.id));
      return { kind: 'replay', response: { status: Number(row.response_status), body } };
    }
    throw unavailable('IDEMPOTENCY_KEY_CONTENDED', `the ${IDEMPOTENCY_KEY_HEADER} is being claimed concurrently; try again`);
  }

  /** The new row's id, or undefined when the caller already has this key. */
  private async insert(em: EntityManager, r: IdempotentRequest): Promise<string | undefined> {
    try {
      const res = (await em.query(
        `INSERT INTO idempotency_keys (user_id, idempotency_key, method, route, request_hash, state, expires_at)
         VALUES (?, ?, ?, ?, ?, 'in_progress', NOW(3) + INTERVAL 24 HOUR)`,
        [r.userId, r.key, r.method, r.route, r.hash],
      )) as { insertId: number | string };
      return String(res.insertId);
    } catch (e) {
      if (isDuplicateKey(e)) return undefined;
      throw e;
    }
  }

  private async find(r: IdempotentRequest): Promise<KeyRow | undefined> {
    const [row] = (await this.ds.query(
      `SELECT id, request_hash, state, response_status, response_body, expires_at <= NOW(3) AS expired
       FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ?`,
      [r.userId, r.key],
    )) as KeyRow[];
    return row ? { ...row, id: String(row.id) } : undefined;
  }

  /** An expired key is absent: delete it and claim it anew in one transaction; undefined when another request got there first. */
  private async replaceExpired(expiredId: string, r: IdempotentRequest): Promise<string | undefined> {
    try {
      return await this.ds.transaction(async (em) => {
        const del = (await em.query('DELETE FROM idempotency_keys WHERE id = ? AND expires_at <= NOW(3)', [expiredId])) as {
          affectedRows: number;
        };
        if (del.affectedRows !== 1) return undefined;
        return this.insert(em, r);
      });
    } catch (e) {
      if (isDeadlock(e)) return undefined;
      throw e;
    }
  }

  private async complete(id: string, r: StoredResponse): Promise<void> {
    await this.ds.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = ?, response_body = ?, completed_at = NOW(3)
       WHERE id = ? AND state = 'in_progress'`,
      [r.status, r.body === null ? null : this.cipher.encrypt(r.body, aadOf(id)), id],
    );
  }

  private async release(id: string): Promise<void> {
    try {
      await this.ds.query("DELETE FROM idempotency_keys WHERE id = ? AND state = 'in_progress'", [id]);
    } catch (err) {
      // the key stays in_progress until it expires: retries are refused, never run twice
      this.log.error('releasing an idempotency key failed', { idempotencyKeyId: id, err });
    }
  }
}

/** The associated data a stored answer is sealed with: it cannot be moved to another row. */
export function aadOf(id: string): string {
  return `idempotency:${id}`;
}

/** Stored answers, rewritten by key rotation. */
export const IDEMPOTENCY_SEALED_COLUMNS: readonly SealedColumn[] = [
  ownedColumn({ table: 'idempotency_keys', id: 'id', column: 'response_body', aad: aadOf }),
];
