import {useSyncExternalStore} from 'react';
import type {StatsSnapshot, StatsStore} from '../../stats/stats.js';

/**
 * The only bridge from the core's statistics to React. StatsStore throttles its notifications and
 * keeps the snapshot's identity until something changes, so a flood of requests costs a handful of
 * renders per second, not one per request.
 */
export function useStats(store: StatsStore): StatsSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
