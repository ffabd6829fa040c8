// `npm test`: the suite as three mocha processes running side by side, each with its own database and Redis prefix
// (test/setup.ts names them after the process), so that the browser journeys and the rest share the machine's idle
// time (most of a test waits on the database, a child process or a timer) instead of taking turns. Each process's
// report is printed whole when it ends; the exit code is non-zero if either failed.
// `npm test -- <files or mocha options>` runs one mocha process with them instead, as plain `mocha` would.
const { Buffer } = require('node:buffer');
const { spawn } = require('node:child_process');
const { readdirSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const env = { ...process.env, NODE_ENV: 'test' };
const args = process.argv.slice(2);

function runOne() {
  const child = spawn(process.execPath, [mocha, ...args], { cwd: root, env, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
}

function runShards() {
  const files = readdirSync(path.join(root, 'test'), { recursive: true })
    .map((f) => path.join('test', String(f)))
    .filter((f) => f.endsWith('.test.ts') && !f.split(path.sep).includes('node_modules'))
    .sort();
  // the browser journeys (with the console's build checks), the fault runs and process tests (mostly waiting for
  // killed processes to be noticed and work to be recovered), and the rest: the third overlaps its waits with the
  // other two's work
  const browserSide = (f) => f.startsWith(path.join('test', 'web') + path.sep);
  const faultSide = (f) => /^test[\\/](fault[^\\/]*|processes)\.test\.ts$/.test(f);
  const shards = [
    { name: 'browser journeys', files: files.filter(browserSide) },
    { name: 'fault runs and processes', files: files.filter(faultSide) },
    { name: 'components, platform, jobs and scripts', files: files.filter((f) => !browserSide(f) && !faultSide(f)) },
  ];

  const started = Date.now();
  const children = [];
  let failed = false;
  let left = shards.length;
  for (const shard of shards) {
    const out = [];
    const child = spawn(process.execPath, [mocha, ...shard.files], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('exit', (code, signal) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const verdict = code === 0 ? 'passed' : signal ? `stopped by ${signal}` : `failed (exit ${code})`;
      process.stdout.write(`\n===== ${shard.name}: ${shard.files.length} files, ${verdict} after ${seconds} s =====\n`);
      process.stdout.write(Buffer.concat(out));
      if (code !== 0) failed = true;
      if (--left === 0) {
        process.stdout.write(`\nnpm test: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
        process.exit(failed ? 1 : 0);
      }
    });
  }
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => children.forEach((c) => c.kill(s)));
}

if (args.length) runOne();
else runShards();
