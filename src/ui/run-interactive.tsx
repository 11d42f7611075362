import {render} from 'ink';
import {App} from './App.js';
import type {AppController} from './App.js';
import type {InteractiveOutcome, InteractiveUpOptions} from './interactive-options.js';

export type {InteractiveOutcome, InteractiveUpOptions} from './interactive-options.js';

/**
 * The interactive `up`: picker (unless `skipPicker`), then the dashboard until the user quits.
 * Resolves with how it ended after session.stop() has finished; the CLI picks the exit status. This module is the only entry
 * into ink/React; `up` loads it with a dynamic import so plain mode never parses them.
 *
 * SIGINT/SIGTERM from outside (ctrl-c arrives as a key in raw mode) take the same graceful path
 * as `q`; a second signal while stopping exits at once with 130.
 */
export async function runInteractiveUp(options: InteractiveUpOptions): Promise<InteractiveOutcome> {
  let outcome: InteractiveOutcome = {kind: 'quit'};
  const controller: AppController = {};
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.quit?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const instance = render(
      <App options={options} controller={controller} onExit={(ended) => {
        outcome = ended;
      }} />,
      {exitOnCtrlC: false},
    );
    await instance.waitUntilExit();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return outcome;
}
