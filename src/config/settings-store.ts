/**
 * The settings file: config.json in the per-user config directory, kept by conf (the platform's
 * directory, atomic writes, the schema checked on every write). conf reads the file on every access,
 * so a second running instance never overwrites changes with stale data.
 *
 * The file holds only what the user set: defaults live in SETTINGS (setting-specs.ts), not in the conf
 * schema, because conf/ajv would otherwise write them into the file and "file" and "default" would
 * look alike. The file is read past conf only where conf cannot help: to name the bad key when conf
 * refuses to open an invalid file, and to let `config unset` repair such a file.
 */
import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {join, resolve} from 'node:path';
import Conf, {type Schema} from 'conf';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {SETTINGS, SETTING_KEYS, invalidSetting} from './setting-specs.js';
import type {SettingKey, Settings} from './setting-specs.js';

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

/** How to get rid of a file that cannot be read at all; it holds nothing that cannot be set again. */
const RESET_HINT = 'fix it by hand, or run `dubbo-tunnel config reset` (it moves the file aside) or delete it: it only holds settings and remembered selections';

function isSelections(value: unknown): value is Record<string, string[]> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && Object.values(value).every((apps) => Array.isArray(apps) && apps.every((app) => typeof app === 'string'));
}

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

  /** The valid values set in the file (invalid ones are left out; `inspect()` says what is wrong). */
  fileValues(): Partial<Settings> {
    const {data} = this.inspect();
    const values: Partial<Record<SettingKey, unknown>> = {};
    for (const key of SETTING_KEYS) {
      if (data[key] !== undefined) values[key] = data[key];
    }
    return values as Partial<Settings>;
  }

  /**
   * Reads the file without conf's all-or-nothing validation: the parts that are valid, and one
   * DT_ERR_CONFIG per problem (not JSON, empty, each invalid value). Never writes.
   */
  inspect(): {data: FileData; problems: DubboTunnelError[]} {
    let openError: unknown;
    try {
      return {data: this.#open().store, problems: []};
    } catch (error) {
      openError = error;
    }
    const raw = this.#readRaw();
    if (raw === undefined) return {data: {}, problems: existsSync(this.path) ? [this.#explain(openError)] : []};
    if (raw === 'empty') {
      return {data: {}, problems: [new DubboTunnelError('DT_ERR_CONFIG', `The config file ${this.path} is empty; it is ignored.`, {hint: RESET_HINT})]};
    }
    if (raw === 'unparseable') return {data: {}, problems: [this.#explain(openError)]};
    const data: Partial<Record<keyof FileData, unknown>> = {};
    const problems: DubboTunnelError[] = [];
    for (const key of SETTING_KEYS) {
      const value = raw[key];
      if (value === undefined) continue;
      if (this.#validInFile(key, value)) data[key] = value;
      else problems.push(invalidSetting(key, value, 'file', this.path, ' It is ignored until it is fixed.'));
    }
    if (raw['selections'] !== undefined) {
      if (isSelections(raw['selections'])) data.selections = raw['selections'];
      else problems.push(new DubboTunnelError('DT_ERR_CONFIG', `The remembered selections in the config file ${this.path} are not a map of name lists; they are ignored.`, {hint: 'run `dubbo-tunnel config unset selections` to forget them (`dubbo-tunnel config reset` starts the file over)'}));
    }
    if (problems.length === 0) problems.push(this.#explain(openError));
    return {data: data as FileData, problems};
  }

  /** Moves the file aside (to `<path>.bak`) so every setting is back to its default. Returns where it went. */
  reset(): string | undefined {
    if (!existsSync(this.path)) return undefined;
    const backup = `${this.path}.bak`;
    try {
      renameSync(this.path, backup);
    } catch (error) {
      throw new DubboTunnelError('DT_ERR_CONFIG', `Could not move the config file ${this.path} aside: ${errorMessage(error)}`, {
        hint: 'check that the directory is writable, or delete the file yourself',
        cause: error,
      });
    }
    this.#conf = undefined;
    return backup;
  }

  /** Parses `raw` (as typed on a command line), validates it and writes it. Returns the stored value. */
  set<K extends SettingKey>(key: K, raw: string): Settings[K] {
    const value = SETTINGS[key].parse(raw);
    if (value === undefined) {
      throw new DubboTunnelError('DT_ERR_CONFIG', `Invalid ${key} '${raw}': expected ${SETTINGS[key].expected}.`, {
        hint: `run \`dubbo-tunnel config set ${key} <value>\` with ${SETTINGS[key].expected}`,
      });
    }
    let conf: Conf<FileData>;
    try {
      conf = this.#open();
    } catch (error) {
      // An invalid value elsewhere must not stop `config set` from fixing this one: change only
      // this key in the JSON the user wrote. A file that is not JSON at all is left alone.
      const raw = this.#readRaw();
      if (raw === undefined || raw === 'empty' || raw === 'unparseable') throw error;
      raw[key] = value;
      this.#write(() => writeFileSync(this.path, JSON.stringify(raw, undefined, '\t')));
      return value;
    }
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

  /**
   * Remembers which applications were chosen for a (context, namespace), for preselection next time.
   * Throws DT_ERR_CONFIG when the file is broken: it is never rewritten behind the user's back.
   */
  rememberSelection(context: string, namespace: string, applications: readonly string[]): void {
    let conf: Conf<FileData>;
    try {
      conf = this.#open();
    } catch (error) {
      const why = error instanceof DubboTunnelError ? error : this.#explain(error);
      throw new DubboTunnelError('DT_ERR_CONFIG', `The choice was not remembered: ${why.message}`, {...(why.hint === undefined ? {} : {hint: why.hint}), cause: error});
    }
    const selections = {...conf.get('selections')};
    const unique = [...new Set(applications)];
    const key = selectionKey(context, namespace);
    const previous = selections[key];
    if (previous?.length === unique.length && previous.every((name, i) => name === unique[i])) return;
    selections[key] = unique;
    this.#write(() => conf.set('selections', selections));
  }

  /** The remembered choice for (context, namespace), or undefined when there is none (or the file is broken). */
  recalledSelection(context: string, namespace: string): readonly string[] | undefined {
    return this.inspect().data.selections?.[selectionKey(context, namespace)];
  }

  /** Every remembered choice, keyed `${context}/${namespace}`. */
  selections(): Readonly<Record<string, readonly string[]>> {
    return {...this.inspect().data.selections};
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

  /** A value as conf's schema would take it from the file (a port must be a JSON number, not "20990"). */
  #validInFile(key: SettingKey, value: unknown): boolean {
    const jsonType = key === 'port' ? 'number' : 'string';
    return typeof value === jsonType && SETTINGS[key].parse(value) !== undefined;
  }

  /** Turns conf's errors into DT_ERR_CONFIG that names the key and the fix. */
  #explain(error: unknown): DubboTunnelError {
    const raw = this.#readRaw();
    if (raw === 'unparseable' || raw === 'empty') {
      return new DubboTunnelError('DT_ERR_CONFIG', `The config file ${this.path} is ${raw === 'empty' ? 'empty' : 'not valid JSON'}; it is ignored.`, {
        hint: RESET_HINT,
        cause: error,
      });
    }
    for (const key of SETTING_KEYS) {
      const value = raw?.[key];
      if (value !== undefined && !this.#validInFile(key, value)) return invalidSetting(key, value, 'file', this.path);
    }
    return new DubboTunnelError('DT_ERR_CONFIG', `Could not read the config file ${this.path}: ${errorMessage(error)}`, {
      hint: 'fix or delete the file, or set DUBBO_TUNNEL_CONFIG_DIR to use another directory',
      cause: error,
    });
  }

  #readRaw(): Record<string, unknown> | 'unparseable' | 'empty' | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    if (text.trim() === '') return 'empty';
    try {
      const data: unknown = JSON.parse(text);
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : 'unparseable';
    } catch {
      return 'unparseable';
    }
  }

  #unsetRaw(key: string): boolean {
    const raw = this.#readRaw();
    if (raw === undefined || raw === 'unparseable' || raw === 'empty' || !(key in raw)) return false;
    delete raw[key];
    writeFileSync(this.path, JSON.stringify(raw, undefined, '\t'));
    return true;
  }
}

export function selectionKey(context: string, namespace: string): string {
  return `${context}/${namespace}`;
}

