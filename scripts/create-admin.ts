import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { closeInfra, configOrExit, openInfra } from '../src/boot';
import { buildServices } from '../src/container';
import { AppError } from '../src/platform/errors';

/**
 * `npm run create-admin -- --username NAME --display-name "..." [--password P]`
 * Creates one of the first two administrators, with no area limit; refused
 * (ADMINS_EXIST) once two are active: later ones are proposed by one
 * administrator and confirmed by another. Without --password a temporary one
 * is generated and printed once; it must be changed at first login, and a
 * TOTP second factor enrolled.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { username: { type: 'string' }, 'display-name': { type: 'string' }, password: { type: 'string' } },
  });
  if (!values.username || !values['display-name']) {
    process.stderr.write('usage: npm run create-admin -- --username NAME --display-name "Full Name" [--password P]\n');
    process.exit(2);
  }
  const cfg = configOrExit();
  const infra = await openInfra('cli', cfg);
  try {
    const { users } = buildServices(infra);
    const { user, temporaryPassword } = await users.bootstrapAdmin(
      { username: values.username, displayName: values['display-name'], password: values.password },
      userInfo().username,
    );
    process.stdout.write(`created admin "${user.username}" (id ${user.id})\n`);
    if (temporaryPassword) process.stdout.write(`temporary password (shown once): ${temporaryPassword}\n`);
    process.stdout.write('at first login: change the password, then enrol TOTP (POST /api/v1/auth/totp/setup).\n');
  } catch (e) {
    if (e instanceof AppError) {
      process.stderr.write(`${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    } else throw e;
  } finally {
    await closeInfra(infra);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`create-admin failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
