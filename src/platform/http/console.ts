import { existsSync } from 'node:fs';
import path from 'node:path';
import compression from 'compression';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/** Paths the console never answers: the API, its documentation, metrics and probes keep their own 404s. */
const NOT_CONSOLE = /^\/(api|metrics|healthz|readyz)(\/|$)/;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><h1>Bảng điều khiển chưa được dựng / The console is not built</h1>
<p>Run <code>npm run web:build</code> (npm start does it when needed); the API is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`;

/** dist/web of the project: found from this file whether it runs from src/ (tsx) or dist/src/ (tsc build). */
export function consoleDir(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return path.join(dir, 'dist', 'web');
}

/**
 * Serves the built console at /: hashed files under /assets/ are cached for a year (their name changes with their
 * content), everything else is revalidated; a GET for a page (Accept naming text/html, as browsers send) outside the API gets index.html,
 * whose router shows the page. Without a build, a page request gets a 404 saying so instead of a crash.
 */
export function consoleHandler(dir: string): RequestHandler {
  const files = express.static(dir, {
    index: false,
    redirect: false,
    fallthrough: true,
    setHeaders: (res, file) => {
      const hashed = path.relative(dir, file).startsWith(`assets${path.sep}`);
      res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // commune offices are on slow links: the console's files go out compressed (about a third of their size); the
  // API's answers are not, since they carry secrets and CSRF tokens beside what a client sends (BREACH)
  const compress = compression();
  const index = path.join(dir, 'index.html');
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_CONSOLE.test(req.path)) return next();
    compress(req, res, () => serve(req, res, next));
  };

  function serve(req: Request, res: Response, next: NextFunction): void {
    files(req, res, () => {
      if (!(req.headers.accept ?? '').includes('text/html') || req.path.startsWith('/assets/')) return next();
      if (!existsSync(index)) {
        res.status(404).type('html').setHeader('Cache-Control', 'no-store').send(NOT_BUILT_PAGE);
        return;
      }
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index, (err) => {
        if (err) next(err);
      });
    });
  }
}
