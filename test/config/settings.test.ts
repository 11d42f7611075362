import {afterEach, beforeEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {DubboTunnelError} from '../../src/core/errors.js';
import {SettingsStore, configDirectory, parseSettingKey, resolveSettings} from '../../src/config/settings.js';

let dir: string;
let store: SettingsStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-settings-'));
  store = new SettingsStore({cwd: dir});
});

afterEach(() => {
  rmSync(dir, {recursive: true, force: true});
});

function writeFile(data: unknown): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(data));
}

/** The one warning resolveSettings gives about the file, checked like configError checks a throw. */
function fileWarning(resolved: ReturnType<typeof resolveSettings>, pattern: RegExp, hint?: RegExp): void {
  assert.equal(resolved.warnings.length, 1, resolved.warnings.map((warning) => warning.message).join('\n'));
  configError(pattern, hint)(resolved.warnings[0]);
}

function configError(pattern: RegExp, hint?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DubboTunnelError, `not a DubboTunnelError: ${String(error)}`);
    assert.equal(error.code, 'DT_ERR_CONFIG');
    assert.match(error.message, pattern);
    if (hint) assert.match(error.hint ?? '', hint);
    return true;
  };
}

describe('resolveSettings', () => {
  it('gives the defaults, all with origin "default", when nothing is set', () => {
    const resolved = resolveSettings({env: {}, store});
    assert.deepEqual(resolved.values, {
      port: 20880,
      host: undefined,
      attachmentKey: 'target-application',
      ingressClass: 'dubbo',
      source: 'auto',
      logLevel: 'info',
      drainTimeout: 10,
    });
    assert.ok(Object.values(resolved.origins).every((origin) => origin === 'default'));
    assert.equal(resolved.path, join(dir, 'config.json'));
  });

  it('applies flags > env > file > defaults, per key, and says where each value came from', () => {
    writeFile({port: 20990, host: '127.0.0.2', source: 'ingress', logLevel: 'warn', drainTimeout: 30});
    const env = {DUBBO_TUNNEL_PORT: '21000', DUBBO_TUNNEL_HOST: '127.0.0.3', DUBBO_TUNNEL_ATTACHMENT_KEY: 'app', DUBBO_TUNNEL_DRAIN_TIMEOUT: '20'};
    const resolved = resolveSettings({flags: {port: '22000', drainTimeout: '5'}, env, store});
    assert.deepEqual(resolved.values, {
      port: 22000,
      host: '127.0.0.3',
      attachmentKey: 'app',
      ingressClass: 'dubbo',
      source: 'ingress',
      logLevel: 'warn',
      drainTimeout: 5,
    });
    assert.deepEqual(resolved.origins, {
      port: 'flag',
      host: 'env',
      attachmentKey: 'env',
      ingressClass: 'default',
      source: 'file',
      logLevel: 'file',
      drainTimeout: 'flag',
    });
  });

  it('every environment variable is read', () => {
    const env = {
      DUBBO_TUNNEL_PORT: '1',
      DUBBO_TUNNEL_HOST: '::1',
      DUBBO_TUNNEL_ATTACHMENT_KEY: 'k',
      DUBBO_TUNNEL_INGRESS_CLASS: 'rpc',
      DUBBO_TUNNEL_SOURCE: 'service',
      DUBBO_TUNNEL_LOG_LEVEL: 'debug',
      DUBBO_TUNNEL_DRAIN_TIMEOUT: '0',
    };
    const resolved = resolveSettings({env, store});
    assert.deepEqual(resolved.values, {port: 1, host: '::1', attachmentKey: 'k', ingressClass: 'rpc', source: 'service', logLevel: 'debug', drainTimeout: 0});
    assert.ok(Object.values(resolved.origins).every((origin) => origin === 'env'));
  });

  it('drainTimeout (--drain-timeout) is whole seconds from 0 to an hour; anything else names the key, the origin and the range', () => {
    assert.equal(resolveSettings({flags: {drainTimeout: '3600'}, env: {}, store}).values.drainTimeout, 3600);
    for (const bad of ['-1', '1.5', '3601', 'ten']) {
      assert.throws(() => resolveSettings({flags: {drainTimeout: bad}, env: {}, store}),
        configError(new RegExp(`Invalid drainTimeout '${bad.replace('.', '\\.')}' from --drain-timeout: expected a whole number of seconds from 0 to 3600`)));
    }
    assert.throws(() => resolveSettings({env: {DUBBO_TUNNEL_DRAIN_TIMEOUT: 'soon'}, store}), configError(/Invalid drainTimeout 'soon' from DUBBO_TUNNEL_DRAIN_TIMEOUT/));
  });

  it('treats an empty environment variable and an undefined flag as not set', () => {
    writeFile({port: 20990});
    const resolved = resolveSettings({flags: {port: undefined}, env: {DUBBO_TUNNEL_PORT: ''}, store});
    assert.equal(resolved.values.port, 20990);
    assert.equal(resolved.origins.port, 'file');
  });

  it('names the key, the flag, and the valid range for a bad flag', () => {
    assert.throws(() => resolveSettings({flags: {port: 'abc'}, env: {}, store}),
      configError(/Invalid port 'abc' from --port: expected an integer from 1 to 65535/, /pass --port/));
    assert.throws(() => resolveSettings({flags: {port: '65536'}, env: {}, store}), configError(/Invalid port '65536' from --port/));
    assert.throws(() => resolveSettings({flags: {port: '0'}, env: {}, store}), configError(/Invalid port '0'/));
    assert.throws(() => resolveSettings({flags: {port: '20880.5'}, env: {}, store}), configError(/Invalid port/));
  });

  it('names the environment variable for a bad environment value', () => {
    assert.throws(() => resolveSettings({env: {DUBBO_TUNNEL_SOURCE: 'crd'}, store}),
      configError(/Invalid source 'crd' from DUBBO_TUNNEL_SOURCE: expected one of auto, ingress, service/, /set DUBBO_TUNNEL_SOURCE to one of auto, ingress, service, or unset it/));
    assert.throws(() => resolveSettings({env: {DUBBO_TUNNEL_LOG_LEVEL: 'verbose'}, store}),
      configError(/Invalid logLevel 'verbose' from DUBBO_TUNNEL_LOG_LEVEL: expected one of debug, info, warn, error/));
    assert.throws(() => resolveSettings({env: {DUBBO_TUNNEL_ATTACHMENT_KEY: 'has space'}, store}),
      configError(/Invalid attachmentKey 'has space' from DUBBO_TUNNEL_ATTACHMENT_KEY/));
  });

  it('a valid flag wins over an invalid environment value (the env value is never looked at)', () => {
    const resolved = resolveSettings({flags: {port: '20881'}, env: {DUBBO_TUNNEL_PORT: 'abc'}, store});
    assert.equal(resolved.values.port, 20881);
  });

  it('names the config file for a bad file value (a warning: the value is skipped), and `config unset` can repair it', () => {
    writeFile({port: 70000, source: 'ingress'});
    const broken = resolveSettings({env: {}, store});
    fileWarning(broken,
      new RegExp(`Invalid port 70000 from the config file \\(${join(dir, 'config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): expected an integer from 1 to 65535`),
      /dubbo-tunnel config unset port/);
    assert.equal(broken.values.port, 20880);
    assert.equal(broken.origins.port, 'default');
    assert.equal(broken.values.source, 'ingress', 'the valid values of the file still apply');
    const repaired = new SettingsStore({cwd: dir});
    assert.equal(repaired.unset('port'), true);
    const resolved = resolveSettings({env: {}, store: new SettingsStore({cwd: dir})});
    assert.equal(resolved.values.port, 20880);
    assert.equal(resolved.values.source, 'ingress');
  });

  it('shows a file value of the wrong JSON type as JSON', () => {
    writeFile({port: '20990'});
    fileWarning(resolveSettings({env: {}, store}), /Invalid port "20990" from the config file/);
  });

  it('reports a config file that is not JSON', () => {
    writeFileSync(join(dir, 'config.json'), '{"port": 2088');
    fileWarning(resolveSettings({env: {}, store}), /is not valid JSON/, /fix it by hand, or run `dubbo-tunnel config reset`.* or delete it/);
  });
});

describe('SettingsStore', () => {
  it('set() parses, validates by the schema and writes only that key; unset() removes it', () => {
    assert.equal(store.set('port', '20990'), 20990);
    assert.equal(store.set('source', 'service'), 'service');
    const file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(file, {port: 20990, source: 'service'}, 'defaults are not written to the file');
    assert.deepEqual(store.fileValues(), {port: 20990, source: 'service'});
    assert.equal(store.unset('port'), true);
    assert.equal(store.unset('port'), false);
    assert.deepEqual(store.fileValues(), {source: 'service'});
  });

  it('set() refuses invalid values and leaves the file alone', () => {
    store.set('port', '20990');
    assert.throws(() => store.set('port', 'abc'), configError(/Invalid port 'abc': expected an integer from 1 to 65535/));
    assert.throws(() => store.set('source', 'everything'), configError(/Invalid source 'everything': expected one of auto, ingress, service/));
    assert.throws(() => store.set('ingressClass', ''), configError(/Invalid ingressClass/));
    assert.deepEqual(store.fileValues(), {port: 20990});
  });

  it('remembers selections per (context, namespace); context names with dots are fine', () => {
    assert.equal(store.recalledSelection('kind.dev', 'default'), undefined);
    store.rememberSelection('kind.dev', 'default', ['user-rpc', 'order-rpc', 'user-rpc']);
    store.rememberSelection('kind.dev', 'payments', ['pay-rpc']);
    store.rememberSelection('arn:aws:eks:eu-west-1:1:cluster/prod', 'default', ['user-rpc']);
    const again = new SettingsStore({cwd: dir});
    assert.deepEqual(again.recalledSelection('kind.dev', 'default'), ['user-rpc', 'order-rpc']);
    assert.deepEqual(again.recalledSelection('kind.dev', 'payments'), ['pay-rpc']);
    assert.deepEqual(again.recalledSelection('arn:aws:eks:eu-west-1:1:cluster/prod', 'default'), ['user-rpc']);
    assert.deepEqual(Object.keys(again.selections()).sort(), ['arn:aws:eks:eu-west-1:1:cluster/prod/default', 'kind.dev/default', 'kind.dev/payments']);
    again.rememberSelection('kind.dev', 'default', ['order-rpc']);
    assert.deepEqual(store.recalledSelection('kind.dev', 'default'), ['order-rpc'], 'a second store instance sees the change');
    assert.equal(again.unset('selections'), true);
    assert.equal(store.recalledSelection('kind.dev', 'default'), undefined);
  });

  it('does not rewrite the file when the remembered selection is unchanged', () => {
    store.rememberSelection('kind-dev', 'default', ['a', 'b']);
    const path = join(dir, 'config.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('\t', '  '));
    const before = readFileSync(path, 'utf8');
    store.rememberSelection('kind-dev', 'default', ['a', 'b']);
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  it('DUBBO_TUNNEL_CONFIG_DIR picks the directory; nothing is written until something is set', () => {
    const sub = join(dir, 'nested');
    const opened = SettingsStore.open({DUBBO_TUNNEL_CONFIG_DIR: sub});
    assert.equal(opened.path, join(sub, 'config.json'));
    assert.equal(configDirectory({DUBBO_TUNNEL_CONFIG_DIR: sub}), sub);
    resolveSettings({env: {DUBBO_TUNNEL_CONFIG_DIR: sub}});
    assert.equal(existsSync(opened.path), false);
    opened.set('logLevel', 'debug');
    assert.equal(resolveSettings({env: {DUBBO_TUNNEL_CONFIG_DIR: sub}}).values.logLevel, 'debug');
  });

  it('without DUBBO_TUNNEL_CONFIG_DIR it uses the per-user config directory', () => {
    const home = configDirectory({XDG_CONFIG_HOME: '/somewhere/config'});
    if (process.platform === 'linux') assert.equal(home, '/somewhere/config/dubbo-tunnel');
    assert.match(home, /dubbo-tunnel/);
  });

  it('parseSettingKey accepts the schema and the flag spelling', () => {
    assert.equal(parseSettingKey('attachmentKey'), 'attachmentKey');
    assert.equal(parseSettingKey('attachment-key'), 'attachmentKey');
    assert.equal(parseSettingKey('--log-level'), 'logLevel');
    assert.equal(parseSettingKey('selections'), undefined);
    assert.equal(parseSettingKey('nope'), undefined);
  });
});
