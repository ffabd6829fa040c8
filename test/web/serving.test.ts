import { expect } from 'chai';
import express from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WEB_DIST, buildWebIfStale } from '../../scripts/web';
import { consoleHandler } from '../../src/platform/http';
import { testApp } from '../helpers/app';
import { call } from '../helpers/http';

/** The bytes that go over the wire for `urlPath` to a browser that accepts compression, and how they were encoded. */
async function onTheWire(urlPath: string): Promise<{ status: number; encoding: string | undefined; bytes: number }> {
  const { url } = await testApp();
  return new Promise((resolve, reject) => {
    http
      .get(`${url}${urlPath}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode!, encoding: res.headers['content-encoding'], bytes }));
      })
      .on('error', reject);
  });
}

const PAGE = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } };

describe('console served by the API process at /', function () {
  this.timeout(60_000);
  before(() => buildWebIfStale());

  it('answers GET / with the console, revalidated on every load, under the same strict CSP as before', async () => {
    const r = await call('GET', '/', PAGE);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/html/);
    expect(r.headers.get('cache-control')).to.equal('no-cache');
    expect(r.text).to.contain('<div id="root"></div>');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).to.contain("script-src 'self'");
    expect(csp).to.contain("default-src 'self'");
    expect(csp).to.not.contain('unsafe-eval');
    expect(csp).to.not.match(/script-src[^;]*unsafe-inline/);
  });

  it('answers a deep link of the console (a reload on /batches/12) with the same page', async () => {
    const r = await call('GET', '/batches/12?tab=items', PAGE);
    expect(r.status).to.equal(200);
    expect(r.text).to.contain('<div id="root"></div>');
  });

  it('serves the hashed assets with a year of immutable caching', async () => {
    const js = readdirSync(path.join(WEB_DIST, 'assets')).find((f) => f.endsWith('.js'))!;
    const r = await call('GET', `/assets/${js}`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/javascript/);
    expect(r.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
  });

  it('sends the first page’s JS and CSS compressed, at most 250 KB on the wire', async () => {
    const html = (await call('GET', '/', PAGE)).text;
    const refs = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(refs.length).to.be.greaterThan(1);
    let total = 0;
    for (const ref of refs) {
      const r = await onTheWire(ref);
      expect(r.status, ref).to.equal(200);
      expect(r.encoding, ref).to.be.oneOf(['br', 'gzip']);
      total += r.bytes;
    }
    expect(total).to.be.at.most(250 * 1024);
  });

  it('leaves the API, the probes and unknown files to their own answers', async () => {
    const api = await call('GET', '/api/v1/no-such-thing', PAGE);
    expect(api.status).to.equal(404);
    expect(api.headers.get('content-type')).to.match(/json/);
    expect(api.headers.get('cache-control')).to.equal('no-store');
    const health = await call('GET', '/healthz', PAGE);
    expect(health.body).to.deep.equal({ status: 'ok' });
    const asset = await call('GET', '/assets/missing-0000.js');
    expect(asset.status).to.equal(404);
    expect(asset.headers.get('content-type')).to.match(/json/);
    const post = await call('POST', '/', { ...PAGE, body: {} });
    expect(post.status).to.equal(404);
    expect(post.headers.get('content-type')).to.match(/json/);
  });

  it('says the console is not built, with a 404 page, when dist/web is missing', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'welfare-no-console-'));
    const app = express().use(consoleHandler(path.join(empty, 'web')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, PAGE);
      expect(r.status).to.equal(404);
      expect(r.headers.get('content-type')).to.match(/^text\/html/);
      expect(await r.text()).to.contain('npm run web:build');
    } finally {
      server.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
