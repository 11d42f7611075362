import {render} from 'ink';
import {App} from './App.js';
import type {AppController} from './App.js';
import type {InteractiveOutcome, InteractiveUpOptions} from './interactive-options.js';

export type {InteractiveOutcome, InteractiveUpOptions} from './interactive-options.js';
export type {AppController} from './App.js';

/**
 * The interactive `up`: picker (unless `skipPicker`), then the dashboard until the user quits.
 * Resolves with how it ended after session.stop() has finished; the CLI picks the exit status. This module is the only entry
 * into ink/React; `up` loads it with a dynamic import so plain mode never parses them.
 *
 * Signals are not handled here: the CLI's one signal handler (src/cli/stop-signals.ts) calls
 * `controller.quit()`, the same graceful path as `q`. ctrl-c arrives as a key in raw mode, and
 * ink's own ctrl-c exit is off so it goes through that path too.
 */
export async function runInteractiveUp(options: InteractiveUpOptions, controller: AppController = {}): Promise<InteractiveOutcome> {
  let outcome: InteractiveOutcome = {kind: 'quit'};
  const instance = render(
    <App options={options} controller={controller} onExit={(ended) => {
      outcome = ended;
    }} />,
    {exitOnCtrlC: false},
  );
  await instance.waitUntilExit();
  return outcome;
}
