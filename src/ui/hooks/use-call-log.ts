import {useEffect, useState} from 'react';
import type {CallLogView, CallRecord} from '../../inspect/call-record.js';

/**
 * The recent calls, while the component using this is mounted. Mounting holds the log open (so
 * calls are captured only while someone looks at them) and unmounting lets go.
 *
 * The snapshot is copied into state on each notification rather than read with
 * useSyncExternalStore: CallLogView does not promise that snapshot() keeps its identity between
 * changes, and a new array on every read would make React render forever.
 */
export function useCallLog(log: CallLogView): {calls: readonly CallRecord[]; skipped: number} {
  const [calls, setCalls] = useState<readonly CallRecord[]>(() => log.snapshot());
  const [skipped, setSkipped] = useState(() => log.skipped());
  useEffect(() => {
    const release = log.open();
    const unsubscribe = log.subscribe(() => {
      setCalls(log.snapshot());
      setSkipped(log.skipped());
    });
    // Calls may have been added between the first render and the subscription.
    setCalls(log.snapshot());
    setSkipped(log.skipped());
    return () => {
      unsubscribe();
      release();
    };
  }, [log]);
  return {calls, skipped};
}
