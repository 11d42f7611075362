/**
 * What each setting is: its flag, environment variable, default, JSON Schema for the file and the one
 * `parse` that flags, DUBBO_TUNNEL_* variables, `config set` and the file all go through, plus the
 * DT_ERR_CONFIG error that names a bad value's key, origin and fix.
 *
 * Why a parser per setting next to a schema: conf (settings-store.ts) can only check the file, while
 * flags and variables arrive as strings and need the same rules; `schema` says to conf what `parse`
 * says to everything else.
 */
import {DubboTunnelError} from '../core/errors.js';
import type {LogLevel} from '../core/events.js';
import {LOG_LEVELS} from '../core/events.js';
import type {Schema} from 'conf';

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
  /** Seconds a stop waits for the answers in flight before it answers them with an error. */
  drainTimeout: number;
}

export type SettingKey = keyof Settings;
export type SettingOrigin = 'flag' | 'env' | 'file' | 'default';

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
/** An hour: a stop that waits longer is a hung stop, not a drain. */
const MAX_DRAIN_SECONDS = 3600;
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
  drainTimeout: {
    flag: '--drain-timeout',
    env: 'DUBBO_TUNNEL_DRAIN_TIMEOUT',
    description: 'seconds a stop waits for the answers of calls in flight (like Dubbo\'s own 10 s)',
    expected: `a whole number of seconds from 0 to ${MAX_DRAIN_SECONDS}`,
    default: 10,
    schema: {type: 'integer', minimum: 0, maximum: MAX_DRAIN_SECONDS},
    parse(raw) {
      const value = typeof raw === 'string' && /^\d{1,4}$/.test(raw.trim()) ? Number(raw.trim()) : raw;
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_DRAIN_SECONDS ? value : undefined;
    },
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
      return `run \`dubbo-tunnel config set ${key} <value>\` with ${spec.expected}, or \`dubbo-tunnel config unset ${key}\` (\`dubbo-tunnel config reset\` starts the file over)`;
  }
}

/** DT_ERR_CONFIG naming the key, where the bad value came from and what is valid. */
export function invalidSetting(key: SettingKey, raw: unknown, origin: Exclude<SettingOrigin, 'default'>, path: string, after = ''): DubboTunnelError {
  // From the file, show JSON so `"20990"` (a string where a number belongs) is visibly wrong.
  const shown = typeof raw === 'string' && origin !== 'file' ? `'${raw}'` : JSON.stringify(raw);
  return new DubboTunnelError(
    'DT_ERR_CONFIG',
    `Invalid ${key} ${shown} from ${describeOrigin(key, origin, path)}: expected ${SETTINGS[key].expected}.${after}`,
    {hint: fixFor(key, origin)},
  );
}

