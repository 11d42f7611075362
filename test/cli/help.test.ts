// --help is generated from the option table each command parses with, and the top-level help
// shows each command's own summary: nothing to keep in step by hand.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {SUMMARIES, formatHelp, optionFlags} from '../../src/cli/command.js';
import type {Command} from '../../src/cli/command.js';
import {main} from '../../src/cli/main.js';
import {collector} from '../support/output.js';

async function load(name: keyof typeof SUMMARIES): Promise<Command> {
  const module = (await import(`../../src/cli/commands/${name}.js`)) as {command: Command};
  return module.command;
}

describe('help text', () => {
  test('optionFlags: short form, value names, and values written out in full', () => {
    assert.equal(optionFlags('port', {type: 'string', short: 'p', description: ''}), '-p, --port <port>');
    assert.equal(optionFlags('max-payload', {type: 'string', value: 'bytes', description: ''}), '--max-payload <bytes>');
    assert.equal(optionFlags('backend', {type: 'string', value: '<app>=<host>:<port>', description: ''}), '--backend <app>=<host>:<port>');
    assert.equal(optionFlags('all-namespaces', {type: 'boolean', short: 'A', description: ''}), '-A, --all-namespaces');
  });

  for (const name of Object.keys(SUMMARIES) as (keyof typeof SUMMARIES)[]) {
    test(`${name} --help lists every option it parses, with its own summary first`, async () => {
      const command = await load(name);
      const help = formatHelp(command);
      assert.equal(help.split('\n')[0], SUMMARIES[name]);
      for (const [option, spec] of Object.entries(command.options)) {
        assert.match(help, new RegExp(`^  ${optionFlags(option, spec).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +${spec.description.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'), `--${option}`);
      }
    });
  }

  test('dubbo-tunnel --help shows each command with its own summary', async () => {
    const stdout = collector();
    const stderr = collector();
    assert.equal(await main(['--help'], {stdout: stdout.stream, stderr: stderr.stream, env: {}, interactive: false}), 0);
    for (const [name, summary] of Object.entries(SUMMARIES)) assert.match(stdout.text(), new RegExp(`^  ${name} +${summary.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  });
});
