import {DubboTunnelError} from '../../core/errors.js';
import {textTable} from '../../core/text-table.js';
import {parseCommandArgs} from '../args.js';
import type {CliContext, Command, OptionTable} from '../command.js';
import {SUMMARIES} from '../command.js';
import type {SettingKey} from '../../config/settings.js';
import {SETTING_KEYS, SETTINGS, SettingsStore, parseSettingKey, resolveSettings} from '../../config/settings.js';
import {printSettingsWarnings} from '../settings-warnings.js';

const KEYS_TEXT = SETTING_KEYS.join(', ');

function badArgument(message: string, hint: string): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_BAD_ARGUMENT', message, {hint});
}

function requireKey(name: string | undefined, action: string, allowSelections = false): SettingKey | 'selections' {
  if (name === undefined) throw badArgument(`config ${action} needs a key.`, `one of: ${KEYS_TEXT}${allowSelections ? ', selections' : ''}`);
  if (allowSelections && name === 'selections') return 'selections';
  const key = parseSettingKey(name);
  if (key === undefined) throw badArgument(`Unknown setting '${name}'.`, `one of: ${KEYS_TEXT}${allowSelections ? ', selections' : ''}`);
  return key;
}

function show(value: unknown): string {
  if (value === undefined) return '(not set)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const OPTIONS = {
  json: {type: 'boolean', description: 'with get/list: print JSON'},
} as const satisfies OptionTable;

export const command: Command = {
  name: 'config',
  summary: SUMMARIES.config,
  usage: 'dubbo-tunnel config <get|set|unset|list|path|reset> [key] [value] [--json]',
  options: OPTIONS,
  notes: [
    {flags: 'get <key>', description: 'print the effective value (environment > config file > default)'},
    {flags: 'set <key> <value>', description: 'validate and save a value in the config file'},
    {flags: 'unset <key>', description: 'remove a value from the config file (`selections` forgets remembered choices)'},
    {flags: 'list', description: 'every setting with its effective value and where it comes from'},
    {flags: 'path', description: 'print the config file path (DUBBO_TUNNEL_CONFIG_DIR overrides the directory)'},
    {flags: 'reset', description: 'start over: move the config file aside (to config.json.bak), so every setting is its default and nothing is remembered'},
    {flags: 'keys', description: SETTING_KEYS.map((key) => `${key} (${SETTINGS[key].env})`).join(', ')},
  ],
  examples: [
    'dubbo-tunnel config set port 20990',
    'dubbo-tunnel config get port',
    'dubbo-tunnel config set source ingress',
    'dubbo-tunnel config unset port',
    'dubbo-tunnel config list',
    'dubbo-tunnel config list --json',
    'dubbo-tunnel config unset selections      # forget the remembered picks',
    'DUBBO_TUNNEL_CONFIG_DIR=/tmp/dt dubbo-tunnel config path',
    'dubbo-tunnel config reset                 # a broken config file: keep a copy, start over',
  ],

  run(args, context) {
    // Synchronous work (conf is synchronous); errors still surface as a rejected promise.
    return new Promise((resolve) => resolve(runConfig(args, context)));
  },
};

function runConfig(args: string[], context: CliContext): number {
  const {values, positionals} = parseCommandArgs('config', args, OPTIONS);
  const [action, name, value] = positionals;
  const out = (line: string): void => {
    context.stdout.write(`${line}\n`);
  };
  const store = SettingsStore.open(context.env);
  const tooMany = (max: number): void => {
    if (positionals.length > max) throw badArgument(`Too many arguments for config ${action ?? ''}: ${positionals.slice(max).join(' ')}`, 'see dubbo-tunnel config --help');
  };
  switch (action) {
    case 'path':
      tooMany(1);
      out(store.path);
      return 0;
    case 'reset': {
      tooMany(1);
      const backup = store.reset();
      out(backup === undefined ? `nothing to reset: ${store.path} does not exist` : `moved ${store.path} to ${backup}; every setting is back to its default`);
      return 0;
    }
    case 'get': {
      tooMany(2);
      const key = requireKey(name, 'get', true);
      if (key === 'selections') {
        out(JSON.stringify(store.selections(), undefined, values.json === true ? undefined : 2));
        return 0;
      }
      const resolved = resolveSettings({env: context.env, store});
      printSettingsWarnings(resolved.warnings, context.stderr);
      out(values.json === true ? JSON.stringify(resolved.values[key] ?? null) : show(resolved.values[key]));
      return 0;
    }
    case 'set': {
      tooMany(3);
      const key = requireKey(name, 'set');
      if (key === 'selections') throw badArgument('selections are saved by the picker.', 'use `dubbo-tunnel config unset selections` to forget them');
      if (value === undefined) throw badArgument(`config set ${key} needs a value.`, `expected ${SETTINGS[key].expected}`);
      const stored = store.set(key, value);
      out(`${key} = ${show(stored)}  (saved in ${store.path})`);
      if (context.env[SETTINGS[key].env] !== undefined && context.env[SETTINGS[key].env] !== '') {
        out(`note: ${SETTINGS[key].env} is set in this environment and takes precedence over the file.`);
      }
      return 0;
    }
    case 'unset': {
      tooMany(2);
      const key = requireKey(name, 'unset', true);
      const had = store.unset(key);
      out(had ? `${key} removed from ${store.path}` : `${key} was not set in ${store.path}`);
      return 0;
    }
    case 'list': {
      tooMany(1);
      const resolved = resolveSettings({env: context.env, store});
      printSettingsWarnings(resolved.warnings, context.stderr);
      if (values.json === true) {
        const rows = SETTING_KEYS.map((key) => ({key, value: resolved.values[key] ?? null, origin: resolved.origins[key]}));
        out(JSON.stringify({path: resolved.path, settings: rows, selections: store.selections()}));
        return 0;
      }
      const rows = SETTING_KEYS.map((key) => {
        const origin = resolved.origins[key];
        return [key, show(resolved.values[key]), origin === 'env' ? `env ${SETTINGS[key].env}` : origin];
      });
      for (const line of textTable(rows, '  ')) out(line);
      const selections = Object.entries(store.selections());
      if (selections.length > 0) {
        out('');
        out('remembered selections:');
        for (const [where, apps] of selections) out(`  ${where}: ${apps.join(', ')}`);
      }
      out('');
      out(`config file: ${resolved.path}`);
      return 0;
    }
    case undefined:
      throw badArgument('config needs an action.', 'dubbo-tunnel config get|set|unset|list|path|reset (see --help)');
    default:
      throw badArgument(`Unknown config action '${action}'.`, 'one of: get, set, unset, list, path, reset');
  }
}
