import { expect } from 'chai';
import { ConfigError, loadConfig, schema } from '../../config';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');

const SECRETS = {
  JWT_SECRET: 'jwt-Secret-For-Production-4f9c2a7e81d3b6',
  DATA_HMAC_KEY: 'hmac-Secret-For-Production-0b7e55c1a9f2d4',
  SANDBOX_SECRET: 'sandbox-Secret-For-Production-9a1c3e5f7b',
  AUDIT_CHAIN_KEY: 'audit-Chain-Key-For-Production-5d8e2b4a16',
  METRICS_TOKEN: 'metrics-Token-For-Production-3c6f9a2d8e1b',
  DATA_KEYS: `k2026:${key(42)}`,
};

/** A complete, valid production environment. */
const PROD: NodeJS.ProcessEnv = {
  NODE_ENV: 'production',
  DB_HOST: 'db.internal',
  DB_USER: 'welfare',
  DB_PASSWORD: 'Db-Password-Prod-77',
  REDIS_URL: 'redis://redis.internal:6379',
  PUBLIC_BASE_URL: 'https://chitra.example.gov.vn',
  DATA_ACTIVE_KEY_ID: 'k2026',
  ...SECRETS,
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return e as ConfigError;
  }
  expect.fail('expected a ConfigError');
}

const named = (problems: string[], envName: string) => problems.filter((p) => p.startsWith(`${envName}:`));

describe('config: loadConfig(env)', () => {
  describe('defaults per mode', () => {
    it('runs development with an empty environment: local services, demo seed on, dev keys', () => {
      const cfg = loadConfig({});
      expect(cfg).to.include({
        mode: 'development',
        logLevel: 'info',
        httpHost: '127.0.0.1',
        httpPort: 3000,
        dbHost: '127.0.0.1',
        dbPort: 3306,
        dbUser: 'root',
        dbPassword: '',
        dbName: 'welfare',
        dbPoolSize: 10,
        redisUrl: 'redis://127.0.0.1:6379',
        demoSeed: true,
        authLoginRatePerMinute: 20,
        dataActiveKeyId: 'dev1',
        shutdownGraceMs: 15000,
      });
      expect([...cfg.dataKeys.keys()]).to.deep.equal(['dev1']);
      expect(cfg.dataKeys.get('dev1')).to.have.length(32);
    });

    it('runs test mode on a free port, quiet logs, its own database and no demo seed', () => {
      const cfg = loadConfig({ NODE_ENV: 'test' });
      expect(cfg).to.include({
        mode: 'test',
        logLevel: 'error',
        httpPort: 0,
        dbName: 'welfare_test',
        redisPrefix: 'welfare-test',
        demoSeed: false,
        authLoginRatePerMinute: 1000,
        shutdownGraceMs: 5000,
      });
    });

    it('runs production with every required key given: public host, bigger pool, strict login rate', () => {
      const cfg = loadConfig(PROD);
      expect(cfg).to.include({
        mode: 'production',
        logLevel: 'info',
        httpHost: '0.0.0.0',
        httpPort: 3000,
        dbPoolSize: 20,
        dbName: 'welfare',
        authLoginRatePerMinute: 10,
        shutdownGraceMs: 30000,
        demoSeed: false,
        jwtSecret: SECRETS.JWT_SECRET,
        dataActiveKeyId: 'k2026',
      });
      expect(cfg.dataKeys.get('k2026')).to.deep.equal(Buffer.alloc(32, 42));
    });

    it('takes given values over defaults, coerced to their types', () => {
      const cfg = loadConfig({
        NODE_ENV: 'test',
        HTTP_PORT: '8080',
        DB_POOL_SIZE: '3',
        DEMO_SEED: '1',
        LOG_LEVEL: 'debug',
        HTTP_TRUST_PROXY: '2',
      });
      expect(cfg).to.include({ httpPort: 8080, dbPoolSize: 3, demoSeed: true, logLevel: 'debug', trustProxy: 2 });
      expect(loadConfig({ DEMO_SEED: '0' }).demoSeed).to.equal(false);
      expect(loadConfig({ DEMO_SEED: 'false' }).demoSeed).to.equal(false);
    });

    it('treats an empty variable as unset', () => {
      expect(loadConfig({ NODE_ENV: 'test', HTTP_PORT: '', LOG_LEVEL: '' })).to.include({ httpPort: 0, logLevel: 'error' });
      expect(loadConfig({ NODE_ENV: '' }).mode).to.equal('development');
    });

    it('returns a frozen object', () => {
      const cfg = loadConfig({});
      expect(Object.isFrozen(cfg)).to.equal(true);
      expect(() => {
        (cfg as { httpPort: number }).httpPort = 1;
      }).to.throw(TypeError);
    });

    it('has a doc and an env name for every key', () => {
      for (const [name, spec] of Object.entries(schema)) {
        expect(spec.doc, name).to.be.a('string').with.length.above(10);
        expect(spec.env, name).to.match(/^[A-Z][A-Z0-9_]+$/);
      }
    });
  });

  describe('invalid values', () => {
    it('reports every invalid key at once, each naming its variable', () => {
      const e = errorOf({
        NODE_ENV: 'test',
        HTTP_PORT: 'abc',
        LOG_LEVEL: 'loud',
        DB_POOL_SIZE: '0',
        REDIS_URL: 'http://127.0.0.1:6379',
        AUTH_IDLE_MINUTES: '60',
        DEMO_SEED: 'yes',
        HTTP_BODY_LIMIT: '1gb',
        AUDIT_RETENTION_DAYS: '30',
        DB_NAME: 'welfare-test',
      });
      const vars = [
        'HTTP_PORT',
        'LOG_LEVEL',
        'DB_POOL_SIZE',
        'REDIS_URL',
        'AUTH_IDLE_MINUTES',
        'DEMO_SEED',
        'HTTP_BODY_LIMIT',
        'AUDIT_RETENTION_DAYS',
        'DB_NAME',
      ];
      expect(e.problems.map((p) => p.split(':')[0])).to.have.members(vars);
      for (const v of vars) expect(e.message, v).to.contain(`${v}:`);
      expect(e.name).to.equal('ConfigError');
    });

    it('echoes a wrong non-secret value to help fix it', () => {
      const [p] = named(problemsOf({ HTTP_PORT: '70000' }), 'HTTP_PORT');
      expect(p).to.contain('(got "70000")');
    });

    it('reports an unknown NODE_ENV once', () => {
      const problems = problemsOf({ NODE_ENV: 'staging' });
      expect(named(problems, 'NODE_ENV')).to.have.length(1);
      expect(named(problems, 'NODE_ENV')[0]).to.contain('staging');
    });

    it('refuses a PUBLIC_BASE_URL that is not an http(s) URL', () => {
      expect(named(problemsOf({ ...PROD, PUBLIC_BASE_URL: 'not a url' }), 'PUBLIC_BASE_URL')).to.have.length(1);
      expect(named(problemsOf({ ...PROD, PUBLIC_BASE_URL: 'javascript:alert(1)' }), 'PUBLIC_BASE_URL')).to.have.length(1);
      expect(loadConfig({ ...PROD, PUBLIC_BASE_URL: 'http://10.0.0.5:3000' }).publicBaseUrl).to.equal('http://10.0.0.5:3000');
    });

    it('refuses DATA_KEYS entries that are not id:base64 of 32 bytes', () => {
      for (const bad of [`k1:${Buffer.alloc(16, 1).toString('base64')}`, key(1), `bad id!:${key(1)}`, ',', `k1:${key(1)},k2:short`]) {
        expect(named(problemsOf({ NODE_ENV: 'test', DATA_KEYS: bad, DATA_ACTIVE_KEY_ID: 'k1' }), 'DATA_KEYS'), bad).to.have.length(1);
      }
    });
  });

  describe('production', () => {
    it('refuses to start without JWT_SECRET, DATA_KEYS, DATA_HMAC_KEY, AUDIT_CHAIN_KEY, SANDBOX_SECRET and METRICS_TOKEN, naming each', () => {
      const env = { ...PROD };
      for (const k of Object.keys(SECRETS)) delete env[k];
      const problems = problemsOf(env);
      for (const k of Object.keys(SECRETS)) {
        const [p] = named(problems, k);
        expect(p, k).to.match(/required/);
        expect(p, k).to.contain('secret');
      }
      expect(problems).to.have.length(Object.keys(SECRETS).length);
    });

    it('names every other key that has no production default', () => {
      const problems = problemsOf({ NODE_ENV: 'production', ...SECRETS, DATA_ACTIVE_KEY_ID: 'k2026' });
      expect(problems.map((p) => p.split(':')[0])).to.have.members(['PUBLIC_BASE_URL', 'DB_HOST', 'DB_USER', 'DB_PASSWORD', 'REDIS_URL']);
    });

    it('refuses each development default secret', () => {
      const dev = {
        JWT_SECRET: schema.jwtSecret.defaults.development,
        DATA_KEYS: schema.dataKeys.defaults.development,
        DATA_HMAC_KEY: schema.dataHmacKey.defaults.development,
        SANDBOX_SECRET: schema.sandboxSecret.defaults.development,
        AUDIT_CHAIN_KEY: schema.auditChainKey.defaults.development,
        METRICS_TOKEN: schema.metricsToken.defaults.development,
      };
      const problems = problemsOf({ ...PROD, ...dev, DATA_ACTIVE_KEY_ID: 'dev1' });
      for (const k of Object.keys(dev)) expect(named(problems, k)[0], k).to.match(/development default/);
    });

    it('refuses the development data key under another id or next to a real key', () => {
      const devKey = schema.dataKeys.defaults.development.split(':')[1]!;
      for (const keys of [`k1:${devKey}`, `k2026:${key(42)},old:${devKey}`, ` dev1:${devKey} `]) {
        const [p] = named(
          problemsOf({ ...PROD, DATA_KEYS: keys, DATA_ACTIVE_KEY_ID: 'k2026' }).filter((x) => !x.startsWith('DATA_ACTIVE')),
          'DATA_KEYS',
        );
        expect(p, keys).to.match(/development/);
      }
    });

    it('refuses a development default secret padded with spaces', () => {
      const [p] = named(problemsOf({ ...PROD, JWT_SECRET: ` ${schema.jwtSecret.defaults.development} ` }), 'JWT_SECRET');
      expect(p).to.match(/development default/);
    });

    it('accepts the development defaults outside production', () => {
      expect(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: schema.jwtSecret.defaults.development })).not.to.throw();
    });

    it('refuses DEMO_SEED=true', () => {
      for (const v of ['true', '1']) {
        const problems = problemsOf({ ...PROD, DEMO_SEED: v });
        expect(problems, v).to.have.length(1);
        expect(problems[0]).to.match(/^DEMO_SEED: .*production/);
      }
    });
  });

  describe('secrets', () => {
    it("never shows a secret's value in the error message", () => {
      const values = {
        JWT_SECRET: 'too-short-jwt-Zq81',
        DATA_HMAC_KEY: 'too-short-hmac-Wv27',
        SANDBOX_SECRET: 'too-short-sandbox-Kp93',
        DATA_KEYS: 'k1:c2VjcmV0LWtleS1tYXRlcmlhbA==',
        DB_PASSWORD: 'Db-Password-Prod-77',
      };
      const e = errorOf({ ...PROD, ...values, REDIS_URL: 'http://:Redis-Pass-55@redis.internal:6379', DATA_ACTIVE_KEY_ID: 'k1' });
      for (const k of ['JWT_SECRET', 'DATA_HMAC_KEY', 'SANDBOX_SECRET', 'DATA_KEYS', 'REDIS_URL'])
        expect(named(e.problems, k), k).to.have.length(1);
      for (const v of [...Object.values(values), 'c2VjcmV0', 'Redis-Pass-55']) {
        expect(e.message, v).not.to.contain(v);
        expect(e.problems.join('\n'), v).not.to.contain(v);
      }
    });

    it('never shows a development default secret it refuses', () => {
      const e = errorOf({ ...PROD, JWT_SECRET: schema.jwtSecret.defaults.development });
      expect(e.message).to.contain('JWT_SECRET');
      expect(e.message).not.to.contain(schema.jwtSecret.defaults.development);
    });
  });

  describe('DATA_ACTIVE_KEY_ID', () => {
    it('must name a key in DATA_KEYS', () => {
      const [p] = named(problemsOf({ ...PROD, DATA_ACTIVE_KEY_ID: 'k2025' }), 'DATA_ACTIVE_KEY_ID');
      expect(p).to.match(/not an id in DATA_KEYS/);
    });

    it('may name the newest of several keys, the older ones kept to decrypt', () => {
      const cfg = loadConfig({ ...PROD, DATA_KEYS: `k2025:${key(1)}, k2026:${key(2)}`, DATA_ACTIVE_KEY_ID: 'k2026' });
      expect([...cfg.dataKeys.keys()]).to.deep.equal(['k2025', 'k2026']);
      expect(cfg.dataKeys.get('k2026')).to.deep.equal(Buffer.alloc(32, 2));
    });
  });
});

describe('config: Redis through Sentinel', () => {
  const SENTINELS = {
    REDIS_SENTINELS: 'sentinel-1.internal:26379, sentinel-2.internal:26379,[fd00::3]:26380',
    REDIS_SENTINEL_MASTER: 'welfare',
  };
  const withoutUrl = (env: NodeJS.ProcessEnv) => {
    const e = { ...env };
    delete e.REDIS_URL;
    return e;
  };

  it('takes REDIS_SENTINELS and REDIS_SENTINEL_MASTER instead of REDIS_URL in production', () => {
    const cfg = loadConfig({
      ...withoutUrl(PROD),
      ...SENTINELS,
      REDIS_SENTINEL_PASSWORD: 'Sentinel-Pass-31',
      REDIS_PASSWORD: 'Node-Pass-47',
    });
    expect(cfg.redisUrl).to.equal(undefined);
    expect(cfg.redisSentinels).to.deep.equal([
      { host: 'sentinel-1.internal', port: 26379 },
      { host: 'sentinel-2.internal', port: 26379 },
      { host: 'fd00::3', port: 26380 },
    ]);
    expect(cfg).to.include({ redisSentinelMaster: 'welfare', redisSentinelPassword: 'Sentinel-Pass-31', redisPassword: 'Node-Pass-47' });
  });

  it('lets REDIS_SENTINELS replace the development default of REDIS_URL', () => {
    const cfg = loadConfig({ NODE_ENV: 'test', ...SENTINELS });
    expect(cfg.redisUrl).to.equal(undefined);
    expect(cfg.redisSentinels).to.have.length(3);
    const single = loadConfig({ NODE_ENV: 'test' });
    expect(single.redisUrl).to.equal('redis://127.0.0.1:6379');
    expect(single.redisSentinels).to.equal(undefined);
  });

  it('refuses REDIS_URL and REDIS_SENTINELS together rather than prefer one', () => {
    const [p] = named(problemsOf({ ...PROD, ...SENTINELS }), 'REDIS_URL');
    expect(p).to.match(/either REDIS_URL .* or REDIS_SENTINELS .* not both/);
    expect(named(problemsOf({ NODE_ENV: 'test', REDIS_URL: 'redis://127.0.0.1:6379', ...SENTINELS }), 'REDIS_URL')).to.have.length(1);
  });

  it('names what production lacks when neither REDIS_URL nor REDIS_SENTINELS is set', () => {
    const problems = problemsOf(withoutUrl(PROD));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^REDIS_URL: required, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER/);
  });

  it('names REDIS_SENTINEL_MASTER when REDIS_SENTINELS is set without it', () => {
    const problems = problemsOf({ ...withoutUrl(PROD), REDIS_SENTINELS: SENTINELS.REDIS_SENTINELS });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS/);
  });

  it('refuses the Sentinel keys without REDIS_SENTINELS, never showing a password', () => {
    const e = errorOf({
      ...PROD,
      REDIS_SENTINEL_MASTER: 'welfare',
      REDIS_SENTINEL_PASSWORD: 'Sentinel-Pass-31',
      REDIS_PASSWORD: 'Node-Pass-47',
    });
    for (const k of ['REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_PASSWORD', 'REDIS_PASSWORD']) {
      expect(named(e.problems, k)[0], k).to.match(/only used with REDIS_SENTINELS/);
    }
    expect(e.message).not.to.contain('Sentinel-Pass-31');
    expect(e.message).not.to.contain('Node-Pass-47');
  });

  it('refuses a REDIS_SENTINELS entry that is not host:port, naming it', () => {
    for (const bad of [
      'sentinel-1.internal',
      'sentinel-1.internal:0',
      'sentinel-1.internal:65536',
      'a:26379,,b:26379',
      'a:26379,a:26379',
      'fd00::3:26379',
      'a b:26379',
    ]) {
      const found = named(problemsOf({ ...withoutUrl(PROD), REDIS_SENTINELS: bad, REDIS_SENTINEL_MASTER: 'welfare' }), 'REDIS_SENTINELS');
      expect(found, bad).to.have.length(1);
    }
    const [p] = named(
      problemsOf({ ...withoutUrl(PROD), REDIS_SENTINELS: 'a:26379,b', REDIS_SENTINEL_MASTER: 'welfare' }),
      'REDIS_SENTINELS',
    );
    expect(p).to.contain('"b" is not host:port');
  });

  it('refuses a REDIS_SENTINEL_MASTER with characters a Sentinel name should not have', () => {
    const [p] = named(problemsOf({ ...withoutUrl(PROD), ...SENTINELS, REDIS_SENTINEL_MASTER: 'wel fare' }), 'REDIS_SENTINEL_MASTER');
    expect(p).to.match(/letters, digits/);
  });
});
