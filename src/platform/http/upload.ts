import busboy from 'busboy';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Request } from 'express';
import { AppError, invalid } from '../errors';

export interface ReceivedFile {
  path: string;
  fileName: string;
  size: number;
  sha256: string;
}

/**
 * Streams one multipart file field to disk (never held in memory), hashing it
 * on the way; refuses a missing field, a second file and anything over maxBytes.
 */
export async function receiveFile(req: Request, opts: { field: string; maxBytes: number; dir: string }): Promise<ReceivedFile> {
  if (!req.is('multipart/form-data')) {
    throw new AppError('unsupported_media', 'UNSUPPORTED_MEDIA_TYPE', `send the file as multipart/form-data in the field "${opts.field}"`);
  }
  await mkdir(opts.dir, { recursive: true });
  const target = path.join(opts.dir, `upload-${randomUUID()}.part`);
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: opts.maxBytes, fields: 10, parts: 12 } });
  } catch {
    throw invalid('MALFORMED_MULTIPART', 'the multipart body cannot be read');
  }
  return new Promise<ReceivedFile>((resolve, reject) => {
    let received: Promise<ReceivedFile> | null = null;
    let failed = false;
    const fail = (e: AppError) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume();
      void rm(target, { force: true }).finally(() => reject(e));
    };
    bb.on('file', (name, stream, info) => {
      if (name !== opts.field || received) {
        stream.resume();
        fail(invalid('UNEXPECTED_FILE', `send exactly one file, in the field "${opts.field}"`));
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _e, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      stream.on('limit', () => fail(new AppError('too_large', 'FILE_TOO_LARGE', `the file is larger than ${opts.maxBytes} bytes`)));
      received = pipeline(stream, meter, createWriteStream(target)).then(() => ({
        path: target,
        fileName: path.basename(info.filename || 'upload').slice(0, 255),
        size,
        sha256: hash.digest('hex'),
      }));
      received.catch(() => fail(invalid('UPLOAD_FAILED', 'the upload was interrupted')));
    });
    bb.on('error', () => fail(invalid('MALFORMED_MULTIPART', 'the multipart body cannot be read')));
    bb.on('close', () => {
      if (failed) return;
      if (!received) {
        fail(invalid('FILE_REQUIRED', `no file: send it in the multipart field "${opts.field}"`));
        return;
      }
      received.then((f) => (failed ? undefined : resolve(f)), () => undefined);
    });
    req.pipe(bb);
  });
}
