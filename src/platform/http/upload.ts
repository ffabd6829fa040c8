import busboy from 'busboy';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Request } from 'express';
import { AppError, invalid } from '../errors';

export interface ReceivedFile {
  path: string;
  fileName: string;
  size: number;
  sha256: string;
}

/** The name the client gave, without any folder (old browsers on Windows send `C:\…\roll.csv`). */
function baseName(name: string): string {
  return (name.split(/[\\/]/).pop() || 'upload').slice(0, 255);
}

const clip = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/**
 * Streams one multipart file field to disk (never held in memory), hashing it
 * on the way; refuses a missing field, a second file and anything over maxBytes.
 * Whatever the outcome, nothing is left on disk unless the file is returned.
 */
export async function receiveFile(req: Request, opts: { field: string; maxBytes: number; dir: string }): Promise<ReceivedFile> {
  if (!req.is('multipart/form-data')) {
    throw new AppError('unsupported_media', 'UNSUPPORTED_MEDIA_TYPE', `send the file as multipart/form-data in the field "${opts.field}"`);
  }
  await mkdir(opts.dir, { recursive: true });
  const target = path.join(opts.dir, `upload-${randomUUID()}.part`);
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      // browsers send the file name in UTF-8 (Vietnamese names), not Latin-1
      defParamCharset: 'utf8',
      // busboy signals reaching its limit: one byte more lets a file of exactly maxBytes through
      limits: { files: 1, fileSize: opts.maxBytes + 1, fields: 10, parts: 12 },
    });
  } catch {
    throw invalid('MALFORMED_MULTIPART', 'the multipart body cannot be read');
  }
  return new Promise<ReceivedFile>((resolve, reject) => {
    let received: Promise<ReceivedFile> | null = null;
    let file: Readable | null = null;
    let out: WriteStream | null = null;
    let settled = false;
    const fail = (e: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      req.resume();
      file?.destroy();
      out?.destroy();
      // the writer must have let go of the file before it is removed: a late open would create it again
      const closed = out && !out.closed ? new Promise<void>((r) => out!.once('close', () => r())) : Promise.resolve();
      void closed.then(() => rm(target, { force: true })).finally(() => reject(e));
    };
    bb.on('file', (name, stream, info) => {
      if (name !== opts.field) {
        stream.resume();
        fail(invalid('FILE_REQUIRED', `send the file in the multipart field "${opts.field}", not "${clip(name)}"`));
        return;
      }
      file = stream;
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _e, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      out = createWriteStream(target);
      stream.on('limit', () => fail(new AppError('too_large', 'FILE_TOO_LARGE', `the file is larger than ${opts.maxBytes} bytes`)));
      received = pipeline(stream, meter, out).then(() => ({
        path: target,
        fileName: baseName(info.filename || 'upload'),
        size,
        sha256: hash.digest('hex'),
      }));
      received.catch(() => fail(invalid('UPLOAD_FAILED', 'the upload was interrupted')));
    });
    bb.on('filesLimit', () => fail(invalid('UNEXPECTED_FILE', `send exactly one file, in the field "${opts.field}"`)));
    bb.on('error', () => fail(invalid('MALFORMED_MULTIPART', 'the multipart body cannot be read')));
    bb.on('close', () => {
      if (settled) return;
      if (!received) {
        fail(invalid('FILE_REQUIRED', `no file: send it in the multipart field "${opts.field}"`));
        return;
      }
      received.then(
        (f) => {
          if (settled) return;
          settled = true;
          resolve(f);
        },
        () => undefined,
      );
    });
    // a client that goes away mid-upload: busboy would wait for the rest of the body forever
    req.once('close', () => {
      if (!req.complete) fail(invalid('UPLOAD_FAILED', 'the upload was interrupted'));
    });
    req.pipe(bb);
  });
}
