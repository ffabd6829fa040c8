import { schema, type Config, type KeySpec, type Mode } from './schema';

export type { Config, Mode } from './schema';
export { schema } from './schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A value shown in an error, with the credentials of a URL (`redis://:password@host`) hidden. */
function shown(raw: string): string {
  return raw.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}

/** Whether a parsed secret is, or contains, the publicly known development value (ignoring spacing and key ids). */
function isDevelopmentSecret(spec: KeySpec, value: unknown): boolean {
  const dev = spec.defaults?.development;
  if (dev === undefined) return false;
  const devValue = spec.schema.safeParse(dev);
  if (!devValue.success) return false;
  if (value instanceof Map && devValue.data instanceof Map) {
    const devKeys = [...(devValue.data as Map<string, Buffer>).values()];
    return [...(value as Map<string, Buffer>).values()].some((k) => devKeys.some((d) => d.equals(k)));
  }
  return typeof value === 'string' && value.trim() === dev.trim();
}

const isSet = (env: NodeJS.ProcessEnv, name: string): boolean => env[name] !== undefined && env[name] !== '';

/**
 * Where Redis is: one node (REDIS_URL) or the primary that Sentinels name (REDIS_SENTINELS + REDIS_SENTINEL_MASTER).
 * Both given is refused rather than one silently preferred, since the other would be a stale address the operator
 * believes in; the development and test default of REDIS_URL gives way to REDIS_SENTINELS.
 */
function redisProblems(env: NodeJS.ProcessEnv, out: Record<string, unknown>, problems: string[]): void {
  const sentinelKeys = ['REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_PASSWORD', 'REDIS_PASSWORD'];
  if (isSet(env, 'REDIS_SENTINELS')) {
    if (isSet(env, 'REDIS_URL'))
      problems.push('REDIS_URL: set either REDIS_URL (one Redis node) or REDIS_SENTINELS (Redis Sentinel), not both');
    if (!isSet(env, 'REDIS_SENTINEL_MASTER'))
      problems.push('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the Sentinels monitor)');
    delete out.redisUrl;
    return;
  }
  for (const k of sentinelKeys) if (isSet(env, k)) problems.push(`${k}: only used with REDIS_SENTINELS, which is not set`);
  if (out.redisUrl === undefined && !isSet(env, 'REDIS_URL')) {
    problems.push('REDIS_URL: required, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER for Redis Sentinel');
  }
}

/** Parses and validates the whole configuration; reports every invalid key at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const rawMode = env.NODE_ENV || 'development';
  const modeValid = ['development', 'test', 'production'].includes(rawMode);
  const mode: Mode = rawMode === 'production' || rawMode === 'test' ? rawMode : 'development';
  const problems: string[] = [];
  const out: Record<string, unknown> = { mode };
  if (!modeValid) problems.push(`NODE_ENV: must be development, test or production (got "${shown(rawMode)}")`);
  for (const [name, spec] of Object.entries(schema) as [string, KeySpec][]) {
    if (name === 'mode') continue;
    const given = env[spec.env];
    const raw = given !== undefined && given !== '' ? given : spec.defaults?.[mode];
    if (raw === undefined) {
      if (spec.optional) continue;
      problems.push(`${spec.env}: required${spec.secret ? ' (a secret; no default outside development and test)' : ''}`);
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => i.message).join('; ');
      // never echo a secret's value
      problems.push(`${spec.env}: ${msg}${spec.secret ? '' : ` (got "${shown(raw)}")`}`);
      continue;
    }
    if (mode === 'production' && spec.secret && isDevelopmentSecret(spec, parsed.data)) {
      problems.push(`${spec.env}: the development default must not be used in production`);
    }
    out[name] = parsed.data;
  }
  const cfg = out as Config;
  if (cfg.dataKeys && cfg.dataActiveKeyId && !cfg.dataKeys.has(cfg.dataActiveKeyId)) {
    problems.push(`DATA_ACTIVE_KEY_ID: "${cfg.dataActiveKeyId}" is not an id in DATA_KEYS`);
  }
  if (mode === 'production' && cfg.demoSeed) problems.push('DEMO_SEED: must be false in production');
  // recipients are not woken at night by the department
  if (mode === 'production' && !cfg.notifyQuietHours) problems.push('NOTIFY_QUIET_HOURS: must be true in production');
  redisProblems(env, out, problems);
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(cfg);
}

let cached: Config | undefined;

/** The process's configuration, parsed once from process.env. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Markdown table of every key, for docs/operations.md. */
export function configTable(): string {
  const rows = (Object.values(schema) as KeySpec[]).map((s) => {
    const d = s.defaults ?? {};
    const def =
      s.optional && d.development === undefined
        ? 'unset'
        : s.secret
          ? 'dev/test only'
          : [d.development === undefined ? 'required' : `\`${d.development}\``]
              .concat(d.production !== undefined && d.production !== d.development ? [`prod \`${d.production}\``] : [])
              .concat(d.production === undefined && d.development !== undefined ? [s.optional ? 'prod: unset' : 'prod: required'] : [])
              .join(', ');
    return `| \`${s.env}\` | ${def} | ${s.doc} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
