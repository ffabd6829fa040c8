import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { WEB_DIST, buildWebIfStale } from '../../scripts/web';

/** Commune offices work on slow links: the console's first load stays small. */
const FIRST_LOAD_LIMIT = 250 * 1024;

/** Every JS and CSS file the browser fetches to show the first page: index.html's, and what those JS files import. */
function firstLoadFiles(html: string): string[] {
  const found = new Set<string>();
  const queue: string[] = [];
  const add = (ref: string) => {
    const file = path.join(WEB_DIST, ref.replace(/^\//, ''));
    if (!found.has(file)) {
      found.add(file);
      if (file.endsWith('.js')) queue.push(file);
    }
  };
  for (const m of html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)) add(m[1]!);
  for (const m of html.matchAll(/<link\b[^>]*\brel="(?:stylesheet|modulepreload)"[^>]*\bhref="([^"]+)"/g)) add(m[1]!);
  for (const m of html.matchAll(/<link\b[^>]*\bhref="([^"]+)"[^>]*\brel="(?:stylesheet|modulepreload)"/g)) add(m[1]!);
  while (queue.length) {
    const file = queue.shift()!;
    // static imports only: a dynamic import() loads later, when its page opens
    for (const m of readFileSync(file, 'utf8').matchAll(
      /(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{}\s,]+from\s*)?["'](\.{1,2}\/[^"']+)["']/g,
    )) {
      add(path.relative(WEB_DIST, path.resolve(path.dirname(file), m[1]!)));
    }
  }
  return [...found];
}

describe('console build (dist/web)', function () {
  this.timeout(120_000);
  let html = '';

  before(async () => {
    await buildWebIfStale();
    html = readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  });

  it('loads at most 250 KB of gzip-compressed JS and CSS on the first page', () => {
    const files = firstLoadFiles(html);
    expect(files.some((f) => f.endsWith('.js'))).to.equal(true);
    expect(files.some((f) => f.endsWith('.css'))).to.equal(true);
    const sizes = files.map((f) => ({ file: path.basename(f), gzip: gzipSync(readFileSync(f), { level: 9 }).length }));
    const total = sizes.reduce((s, f) => s + f.gzip, 0);
    expect(total, JSON.stringify(sizes)).to.be.at.most(FIRST_LOAD_LIMIT);
  });

  it('has no inline script or event handler in index.html, which the Content-Security-Policy would refuse', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).to.be.greaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs, 'every script is a file of its own').to.match(/\bsrc="\/assets\//);
      expect(body!.trim()).to.equal('');
    }
    expect(html).to.not.match(/\son[a-z]+\s*=/i);
    expect(html).to.not.match(/https?:\/\//);
  });
});
