import { currentTotp } from '../src/components/auth';

/** `npm run totp -- SECRET`: prints the current TOTP code for a base32 secret (for the demo and for testing). */
const secret = process.argv[2];
if (!secret) {
  process.stderr.write('usage: npm run totp -- BASE32SECRET\n');
  process.exit(2);
}
process.stdout.write(`${currentTotp(secret)}\n`);
