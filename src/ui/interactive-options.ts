import type {DiscoveredApplication} from '../core/applications.js';
import type {LogLevel, TunnelEventBus} from '../core/events.js';
import type {AppSession} from '../core/session.js';

/** What `up` gives the terminal UI. The UI never opens sockets or calls Kubernetes itself. */
export interface InteractiveUpOptions {
  /** Shown in the header, e.g. `context kind-dev · namespace default` or `static backends`. */
  title: string;
  /** Lists the applications for the picker; may reject with a DubboTunnelError (shown with its hint). */
  discover: () => Promise<DiscoveredApplication[]>;
  /** Checked in the picker (remembered selection), or the choice itself when `skipPicker`. */
  preselected: readonly string[];
  /** --select/--all/--last given: start with `preselected` without showing the picker. */
  skipPicker: boolean;
  /** Start routing the chosen applications (called once; `p` later uses session.setSelection). */
  start: (applications: readonly string[]) => Promise<AppSession>;
  /** Persist the choice (conf); called after a successful start and after each change. */
  remember: (applications: readonly string[]) => void;
  /**
   * The bus `start()` will use. Optional, but without it the dashboard subscribes only after start()
   * resolves and misses what happened during start (first backend states).
   */
  events?: TunnelEventBus;
  /** The attachment consumers must set; shown in the how-to line. Default `target-application`. */
  attachmentKey?: string;
  /** Lowest `log` event level shown in the dashboard's log. Default `info`. */
  logLevel?: LogLevel;
}
