import {readFileSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {join, resolve} from 'node:path';
import Conf, {type Schema} from 'conf';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {LogLevel} from '../core/events.js';
import {LOG_LEVELS} from '../core/events.js';

/**
 * User settings: one conf-backed JSON file, plus the single function that decides the effective
 * value of each setting. Precedence is flags > environment (DUBBO_TUNNEL_*) > config file > defaults,
 * and every value carries where it came from so `config list` can say why a value is what it is.
 *
 * The file holds only what the user set: defaults live in SETTINGS below, not in the conf schema,
 * because conf/ajv would otherwise write them into the file and "file" and "default" would look alike.
 */

export const SOURCES = ['auto', 'ingress', 'service'] as const;
export type DiscoverySource = (typeof SOURCES)[number];

export interface Settings {
  /** Local port consumers connect to. */
  port: number;
  /** Listen host; undefined means every address of this machine, with only local peers accepted. */
  host: string | undefined;
  /** The attachment requests are routed by. */
  attachmentKey: string;
  /** IngressClass whose Ingresses describe Dubbo applications. */
  ingressClass: string;
  /** Where discovery looks: Ingresses, Services, or both (`auto`). */
  source: DiscoverySource;
  logLevel: LogLevel;
}

export type SettingKey = keyof Settings;
export type SettingOrigin = 'flag' | 'env' | 'file' | 'default';

/** Raw flag values as the argument parser gives them (strings), or already typed. */
export type SettingsFlags = {[K in SettingKey]?: string | number | undefined};

export interface ResolvedSettings {
  readonly values: Readonly<Settings>;
  readonly origins: Readonly<Record<SettingKey, SettingOrigin>>;
  /** The config file that was read. */
  readonly path: string;
}

interface SettingSpec<K extends SettingKey> {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  /** Human wording of what is valid, used in every error. */
  readonly expected: string;
  readonly default: Settings[K];
  readonly schema: Schema<Settings>[K];
  /** Returns the typed value, or undefined when `raw` is not valid. Strings come from flags, env and `config set`. */
  parse(raw: unknown): Settings[K] | undefined;
}

const PORT_PATTERN = /^\d{1,5}$/;
const TOKEN_PATTERN = /^\S+$/;

function parseToken(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const value = raw.trim();
  return value !== '' && TOKEN_PATTERN.test(value) ? value : undefined;
}

function oneOf<T extends string>(values: readonly T[]): (raw: unknown) => T | undefined {
  return (raw) => (typeof raw === 'string' ? values.find((value) => value === raw.trim()) : undefined);
}

export const SETTINGS: {readonly [K in SettingKey]: SettingSpec<K>} = {
  port: {
    flag: '--port',
    env: 'DUBBO_TUNNEL_PORT',
    description: 'local port consumers connect to',
    expected: 'an integer from 1 to 65535',
    default: 20880,
    schema: {type: 'integer', minimum: 1, maximum: 65_535},
    parse(raw) {
      const value = typeof raw === 'string' && PORT_PATTERN.test(raw.trim()) ? Number(raw.trim()) : raw;
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65_535 ? value : undefined;
    },
  },
  host: {
    flag: '--host',
    env: 'DUBBO_TUNNEL_HOST',
    description: 'listen address (default: loopback)',
    expected: 'a host name or IP address without spaces',
    default: undefined,
    schema: {type: 'string', minLength: 1, pattern: TOKEN_PATTERN.source},
    parse: parseToken,
  },
  attachmentKey: {
    flag: '--attachment-key',
    env: 'DUBBO_TUNNEL_ATTACHMENT_KEY',
    description: 'request attachment that names the target application',
    expected: 'a non-empty attachment name without spaces',
    default: 'target-application',
    schema: {type: 'string', minLength: 1, pattern: TOKEN_PATTERN.source},
    parse: parseToken,
  },
  ingressClass: {
    flag: '--ingress-class',
    env: 'DUBBO_TUNNEL_INGRESS_CLASS',
    description: 'IngressClass that marks Dubbo applications',
    expected: 'a non-empty IngressClass name without spaces',
    default: 'dubbo',
    schema: {type: 'string', minLength: 1, pattern: TOKEN_PATTERN.source},
    parse: parseToken,
  },
  source: {
    flag: '--source',
    env: 'DUBBO_TUNNEL_SOURCE',
    description: 'where discovery looks for applications',
    expected: `one of ${SOURCES.join(', ')}`,
    default: 'auto',
    schema: {enum: [...SOURCES]},
    parse: oneOf(SOURCES),
  },
  logLevel: {
    flag: '--log-level',
    env: 'DUBBO_TUNNEL_LOG_LEVEL',
    description: 'lowest level of log lines shown',
    expected: `one of ${LOG_LEVELS.join(', ')}`,
    default: 'info',
    schema: {enum: [...LOG_LEVELS]},
    parse: oneOf(LOG_LEVELS),
  },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Accepts the schema name (`attachmentKey`) and the flag spelling (`attachment-key`). */
export function parseSettingKey(name: string): SettingKey | undefined {
  const camel = name.trim().replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return SETTING_KEYS.find((key) => key === camel);
}

function describeOrigin(key: SettingKey, origin: Exclude<SettingOrigin, 'default'>, path: string): string {
  switch (origin) {
    case 'flag':
      return SETTINGS[key].flag;
    case 'env':
      return SETTINGS[key].env;
    case 'file':
      return `the config file (${path})`;
  }
}

function fixFor(key: SettingKey, origin: Exclude<SettingOrigin, 'default'>): string {
  const spec = SETTINGS[key];
  switch (origin) {
    case 'flag':
      return `pass ${spec.flag} with ${spec.expected}`;
    case 'env':
      return `set ${spec.env} to ${spec.expected}, or unset it`;
    case 'file':
      return `run \`dubbo-tunnel config set ${key} <value>\` with ${spec.expected}, or \`dubbo-tunnel config unset ${key}\``;
  }
}

/** DT_ERR_CONFIG naming the key, where the bad value came from and what is valid. */
export function invalidSetting(key: SettingKey, raw: unknown, origin: Exclude<SettingOrigin, 'default'>, path: string): DubboTunnelError {
  // From the file, show JSON so `"20990"` (a string where a number belongs) is visibly wrong.
  const shown = typeof raw === 'string' && origin !== 'file' ? `'${raw}'` : JSON.stringify(raw);
  return new DubboTunnelError(
    'DT_ERR_CONFIG',
    `Invalid ${key} ${shown} from ${describeOrigin(key, origin, path)}: expected ${SETTINGS[key].expected}.`,
    {hint: fixFor(key, origin)},
  );
}

/**
 * The directory holding config.json: DUBBO_TUNNEL_CONFIG_DIR when set (tests, e2e), else the per-user
 * config directory (the same rule as conf's env-paths: XDG on Linux, Preferences on macOS, APPDATA on Windows).
 */
export function configDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['DUBBO_TUNNEL_CONFIG_DIR'];
  if (override !== undefined && override !== '') return resolve(override);
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Preferences', 'dubbo-tunnel');
  if (process.platform === 'win32') return join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), 'dubbo-tunnel', 'Config');
  return join(env['XDG_CONFIG_HOME'] ?? join(home, '.config'), 'dubbo-tunnel');
}

type FileData = Partial<Settings> & {selections?: Record<string, string[]>};

const CONFIG_SCHEMA: Schema<FileData> = {
  ...(Object.fromEntries(SETTING_KEYS.map((key) => [key, SETTINGS[key].schema])) as Schema<Partial<Settings>>),
  selections: {type: 'object', additionalProperties: {type: 'array', items: {type: 'string'}}},
};

/**
 * The settings file (conf, validated by CONFIG_SCHEMA). conf reads the file on every access, so a
 * second running instance never overwrites changes with stale data.
 */
export class SettingsStore {
  /** Absolute path of config.json. */
  readonly path: string;
  readonly #cwd: string;
  #conf: Conf<FileData> | undefined;

  constructor(options: {cwd: string}) {
    this.#cwd = resolve(options.cwd);
    this.path = join(this.#cwd, 'config.json');
  }

  /** The store for this environment (honours DUBBO_TUNNEL_CONFIG_DIR). */
  static open(env: NodeJS.ProcessEnv = process.env): SettingsStore {
    return new SettingsStore({cwd: configDirectory(env)});
  }

  /** Values set in the file, validated. */
  fileValues(): Partial<Settings> {
    const store = this.#open().store;
    const values: Partial<Record<SettingKey, unknown>> = {};
    for (const key of SETTING_KEYS) {
      if (store[key] !== undefined) values[key] = store[key];
    }
    return values as Partial<Settings>;
  }

  /** Parses `raw` (as typed on a command line), validates it and writes it. Returns the stored value. */
  set<K extends SettingKey>(key: K, raw: string): Settings[K] {
    const value = SETTINGS[key].parse(raw);
    if (value === undefined) {
      throw new DubboTunnelError('DT_ERR_CONFIG', `Invalid ${key} '${raw}': expected ${SETTINGS[key].expected}.`, {
        hint: `run \`dubbo-tunnel config set ${key} <value>\` with ${SETTINGS[key].expected}`,
      });
    }
    const conf = this.#open();
    this.#write(() => conf.set(key, value as FileData[K]));
    return value;
  }

  /** Removes a key (a setting, or `selections` to forget every remembered choice). Returns whether it was set. */
  unset(key: SettingKey | 'selections'): boolean {
    let conf: Conf<FileData>;
    try {
      conf = this.#open();
    } catch (error) {
      // An invalid file must stay fixable with `config unset <key>`: drop the key without conf's validation.
      if (error instanceof DubboTunnelError && this.#unsetRaw(key)) return true;
      throw error;
    }
    const had = conf.has(key);
    if (had) this.#write(() => conf.delete(key));
    return had;
  }

  /** Remembers which applications were chosen for a (context, namespace), for preselection next time. */
  rememberSelection(context: string, namespace: string, applications: readonly string[]): void {
    const conf = this.#open();
    const selections = {...conf.get('selections')};
    const unique = [...new Set(applications)];
    const key = selectionKey(context, namespace);
    const previous = selections[key];
    if (previous?.length === unique.length && previous.every((name, i) => name === unique[i])) return;
    selections[key] = unique;
    this.#write(() => conf.set('selections', selections));
  }

  /** The remembered choice for (context, namespace), or undefined when there is none. */
  recalledSelection(context: string, namespace: string): readonly string[] | undefined {
    return this.#open().get('selections')?.[selectionKey(context, namespace)];
  }

  /** Every remembered choice, keyed `${context}/${namespace}`. */
  selections(): Readonly<Record<string, readonly string[]>> {
    return {...this.#open().get('selections')};
  }

  #open(): Conf<FileData> {
    if (this.#conf !== undefined) return this.#conf;
    try {
      this.#conf = new Conf<FileData>({
        cwd: this.#cwd,
        schema: CONFIG_SCHEMA,
        // Selection keys contain dots (`kind.dev/default`): never treat them as paths.
        accessPropertiesByDotNotation: false,
        // CONFIG_SCHEMA is ours and fixed: checking it against JSON Schema's meta-schema on every
        // start cost most of the settings' start-up time (docs/performance.md). Files are still validated.
        ajvOptions: {validateSchema: false},
      });
    } catch (error) {
      throw this.#explain(error);
    }
    return this.#conf;
  }

  #write(action: () => void): void {
    try {
      action();
    } catch (error) {
      throw new DubboTunnelError('DT_ERR_CONFIG', `Could not write the config file ${this.path}: ${errorMessage(error)}`, {
        hint: 'check that the directory is writable, or set DUBBO_TUNNEL_CONFIG_DIR to another directory',
        cause: error,
      });
    }
  }

  /** Turns conf's errors into DT_ERR_CONFIG that names the key and the fix. */
  #explain(error: unknown): DubboTunnelError {
    const raw = this.#readRaw();
    if (raw === 'unparseable') {
      return new DubboTunnelError('DT_ERR_CONFIG', `The config file ${this.path} is not valid JSON.`, {
        hint: 'fix it by hand or delete it (it only holds settings and remembered selections)',
        cause: error,
      });
    }
    for (const key of SETTING_KEYS) {
      const value = raw?.[key];
      const jsonType = key === 'port' ? 'number' : 'string';
      if (value !== undefined && (typeof value !== jsonType || SETTINGS[key].parse(value) === undefined)) {
        return invalidSetting(key, value, 'file', this.path);
      }
    }
    return new DubboTunnelError('DT_ERR_CONFIG', `Could not read the config file ${this.path}: ${errorMessage(error)}`, {
      hint: 'fix or delete the file, or set DUBBO_TUNNEL_CONFIG_DIR to use another directory',
      cause: error,
    });
  }

  #readRaw(): Record<string, unknown> | 'unparseable' | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const data: unknown = JSON.parse(text);
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : 'unparseable';
    } catch {
      return 'unparseable';
    }
  }

  #unsetRaw(key: string): boolean {
    const raw = this.#readRaw();
    if (raw === undefined || raw === 'unparseable' || !(key in raw)) return false;
    delete raw[key];
    writeFileSync(this.path, JSON.stringify(raw, undefined, '\t'));
    return true;
  }
}

export function selectionKey(context: string, namespace: string): string {
  return `${context}/${namespace}`;
}

/**
 * THE place that decides effective settings: flags > environment > config file > defaults.
 * Throws DT_ERR_CONFIG naming the key, the origin and the valid range for the first invalid value.
 */
export function resolveSettings(options: {flags?: SettingsFlags; env?: NodeJS.ProcessEnv; store?: SettingsStore} = {}): ResolvedSettings {
  const env = options.env ?? process.env;
  const store = options.store ?? SettingsStore.open(env);
  const flags = options.flags ?? {};
  const file = store.fileValues();
  const values: Partial<Record<SettingKey, unknown>> = {};
  const origins: Partial<Record<SettingKey, SettingOrigin>> = {};
  for (const key of SETTING_KEYS) {
    const spec = SETTINGS[key];
    const candidates: [Exclude<SettingOrigin, 'default'>, unknown][] = [
      ['flag', flags[key]],
      ['env', env[spec.env] === '' ? undefined : env[spec.env]],
      ['file', file[key]],
    ];
    const found = candidates.find(([, raw]) => raw !== undefined);
    if (found === undefined) {
      values[key] = spec.default;
      origins[key] = 'default';
      continue;
    }
    const [origin, raw] = found;
    const value = spec.parse(raw);
    if (value === undefined) throw invalidSetting(key, raw, origin, store.path);
    values[key] = value;
    origins[key] = origin;
  }
  return {
    values: Object.freeze(values as Settings),
    origins: Object.freeze(origins as Record<SettingKey, SettingOrigin>),
    path: store.path,
  };
}
