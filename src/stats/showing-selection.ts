import {parseChoice} from '../core/applications.js';
import type {AppSession} from '../core/app-session.js';
import type {StatsStore} from './stats.js';

/**
 * The session as the dashboard's owner hands it to the UI: the store shows the session's selection
 * from the start and after every change, so the UI only reads the store and never writes to it.
 */
export function showingSelection(session: AppSession, stats: StatsStore): AppSession {
  // Rows are per application name; a choice may also name the place (`user-rpc@staging`).
  const routed = (): string[] => session.selection().map((entry) => parseChoice(entry).application);
  stats.setApplications(routed());
  return {
    events: session.events,
    addresses: session.addresses,
    port: session.port,
    ...(session.context === undefined ? {} : {context: session.context}),
    ...(session.namespace === undefined ? {} : {namespace: session.namespace}),
    selection: () => session.selection(),
    setSelection: async (applications) => {
      await session.setSelection(applications);
      stats.setApplications(routed());
    },
    stop: () => session.stop(),
    stopNow: () => session.stopNow(),
  };
}
