/**
 * The single function that decides the effective value of each setting. Precedence is flags >
 * environment (DUBBO_TUNNEL_*) > config file > defaults, and every value carries where it came from
 * so `config list` can say why a value is what it is.
 *
 * This is the config layer's entry point: it also exports the settings table (setting-specs.ts) and
 * the file's store (settings-store.ts), so the rest of the program imports from here only.
 */
import {SETTINGS, SETTING_KEYS, invalidSetting} from './setting-specs.js';
import type {SettingKey, SettingOrigin, Settings} from './setting-specs.js';
import {SettingsStore} from './settings-store.js';
import type {DubboTunnelError} from '../core/errors.js';

export {SETTINGS, SETTING_KEYS, SOURCES, invalidSetting, parseSettingKey} from './setting-specs.js';
export type {DiscoverySource, SettingKey, SettingOrigin, Settings} from './setting-specs.js';
export {SettingsStore, configDirectory, selectionKey} from './settings-store.js';

/** Raw flag values as the argument parser gives them (strings), or already typed. */
export type SettingsFlags = {[K in SettingKey]?: string | number | undefined};

export interface ResolvedSettings {
  readonly values: Readonly<Settings>;
  readonly origins: Readonly<Record<SettingKey, SettingOrigin>>;
  /** The config file that was read. */
  readonly path: string;
  /**
   * What is wrong with the config file (not JSON, empty, an invalid value). A broken file never
   * stops a command: its bad parts are ignored and these say so, with the fix, for the CLI to print.
   */
  readonly warnings: readonly DubboTunnelError[];
}

/**
 * THE place that decides effective settings: flags > environment > config file > defaults.
 * Throws DT_ERR_CONFIG naming the key, the origin and the valid range for the first invalid flag or
 * environment value. The config file never stops a command: what is wrong with it comes back in
 * `warnings`, and its invalid values are skipped as if they were not set.
 */
export function resolveSettings(options: {flags?: SettingsFlags; env?: NodeJS.ProcessEnv; store?: SettingsStore} = {}): ResolvedSettings {
  const env = options.env ?? process.env;
  const store = options.store ?? SettingsStore.open(env);
  const flags = options.flags ?? {};
  const {data: file, problems} = store.inspect();
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
    warnings: problems,
  };
}
