// Installs node_modules when missing or installed from another package-lock.json, so that `npm start` and
// `npm test` work on a fresh clone with nothing run before them. The lock file's hash is kept beside the install:
// file times say nothing once a branch is checked out over an install. A node_modules that is a link to another
// checkout's install is never reinstalled from here (npm ci would empty the other checkout's).
const { createHash } = require('node:crypto');
const { existsSync, lstatSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { execSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const modules = join(root, 'node_modules');
const lockHash = createHash('sha256')
  .update(readFileSync(join(root, 'package-lock.json')))
  .digest('hex');
const marker = join(modules, '.installed-lock-sha256');
const lock = join(root, 'package-lock.json');
const npmMarker = join(modules, '.package-lock.json');
// an install made by a plain `npm ci` after the lock file was written (as CI does) is taken as it is
const fresh = !existsSync(marker) && existsSync(npmMarker) && statSync(npmMarker).mtimeMs >= statSync(lock).mtimeMs;
if (fresh && !lstatSync(modules).isSymbolicLink()) writeFileSync(marker, `${lockHash}\n`);
const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : null;
if (installed !== lockHash && !fresh) {
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) {
    process.stderr.write('node_modules is a link to another install made from another package-lock.json: run npm ci there\n');
  } else {
    process.stderr.write('installing dependencies (npm ci)...\n');
    execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
    writeFileSync(marker, `${lockHash}\n`);
  }
}
