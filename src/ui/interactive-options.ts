import type {DiscoveredApplication} from '../core/applications.js';
import type {AppSession} from '../core/app-session.js';
import type {CallLogView} from '../inspect/call-record.js';
import type {StatsStore} from '../stats/stats.js';

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
   * What the dashboard shows. The caller creates it on the bus `start()` will use, before start(), so
   * nothing that happens during start is missed, keeps it in step with the selection
   * (showingSelection) and disposes of it; the UI only reads it.
   */
  stats: StatsStore;
  /**
   * The recent calls for the dashboard's calls view (`c`); the view holds it open while it shows,
   * which is when calls are captured. Without it the dashboard has no calls view.
   */
  calls?: CallLogView;
  /** The attachment consumers must set; shown in the how-to line. Default `target-application`. */
  attachmentKey?: string;
}

/** How the interactive `up` ended; the CLI turns it into the exit status. */
export type InteractiveOutcome =
  | {readonly kind: 'quit'}
  | {readonly kind: 'failed'; readonly error: unknown; readonly during: 'start' | 'stop'};
