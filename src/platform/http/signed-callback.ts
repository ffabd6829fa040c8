import type { IncomingMessage, IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Express, NextFunction, Request, Response } from 'express';
import type winston from 'winston';
import { AppError, toAppError } from '../errors';

/** Largest callback body read (a status event or a delivery report is a few hundred bytes). */
export const MAX_CALLBACK_BYTES = 64 * 1024;

/** Serves one request and returns true, or returns false (having touched nothing) for a request that is not its own. */
export type PlainHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface SignedCallbackRoute {
  /** `POST` paths it serves: the first group is the sender's name (a provider, a gateway) */
  path: RegExp;
  /** verifies the signature over the exact bytes and applies the event; what it returns is the 200 body */
  apply: (name: string, headers: IncomingHttpHeaders, body: Buffer, pathWithQuery: string) => Promise<unknown>;
  /** the warning logged for a refused signature, and the field that names the sender in it */
  refused: { message: string; field: string };
}

function answer(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A signed callback route (a provider's status events, a gateway's delivery reports) on plain node:http. These are
 * the hot paths of a run, one request per status change, authenticated by the sender's signature over the exact
 * bytes and not by a session: the API server runs them before express (server.ts), so that none of them pays for the
 * router, the body parsers, helmet and the request log; the app also mounts them first (mountPlainHandlers), for
 * servers built around the app alone (tests). It reads the body itself (at most 64 KiB, else 413), lets `apply`
 * verify and apply it, and answers directly: 200 with what `apply` returned, 401 with the contract's own body
 * (`{"error":"BAD_SIGNATURE"}`), anything else in the app's error shape, a 503 with `Retry-After` so that the sender
 * delivers it again shortly. Refused signatures are logged, with the sender's name and the reason only.
 */
export function signedCallbackHandler(route: SignedCallbackRoute, log: winston.Logger): PlainHandler {
  const fail = (res: ServerResponse, err: unknown): void => {
    const e = toAppError(err);
    if (e.kind === 'internal' || e.kind === 'unavailable') log.error('request failed', { code: e.code, err: e.cause ?? e });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.kind === 'unauthenticated') return answer(res, 401, { error: e.code });
    if (e.kind === 'unavailable') res.setHeader('Retry-After', '1');
    answer(res, e.status, {
      error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}), requestId: '' },
    });
  };
  const tooLarge = () => new AppError('too_large', 'PAYLOAD_TOO_LARGE', `callback body larger than ${MAX_CALLBACK_BYTES} bytes`);
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const m = route.path.exec(url);
    if (!m) return false;
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      return false;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_CALLBACK_BYTES) {
      res.setHeader('Connection', 'close');
      req.resume();
      fail(res, tooLarge());
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CALLBACK_BYTES) chunks.push(chunk);
    });
    req.on('error', (err) => {
      failed = true;
      fail(res, err);
    });
    req.on('end', () => {
      if (failed) return;
      if (size > MAX_CALLBACK_BYTES) {
        res.setHeader('Connection', 'close');
        return fail(res, tooLarge());
      }
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      route.apply(name, req.headers, body, url).then(
        (value) => answer(res, 200, value),
        (err: unknown) => {
          const e = toAppError(err);
          if (e.kind === 'unauthenticated') log.warn(route.refused.message, { [route.refused.field]: name, reason: e.code });
          fail(res, e);
        },
      );
    });
    return true;
  };
}

/** Plain handlers as the app's first middleware, before anything else it does (see signedCallbackHandler). */
export function mountPlainHandlers(app: Express, handlers: PlainHandler[]): void {
  app.use((req: Request, res: Response, next: NextFunction) => {
    for (const handle of handlers) if (handle(req, res)) return;
    next();
  });
}
