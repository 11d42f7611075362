import {useCallback, useEffect, useState} from 'react';
import type {DiscoveredApplication} from '../../core/applications.js';

export type DiscoveryState =
  | {readonly status: 'loading'}
  | {readonly status: 'ready'; readonly applications: readonly DiscoveredApplication[]}
  | {readonly status: 'error'; readonly error: unknown};

/** Runs `discover` on mount and on every `retry()`; results of an outdated run are ignored. */
export function useDiscovery(discover: () => Promise<DiscoveredApplication[]>): [DiscoveryState, () => void] {
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<DiscoveryState>({status: 'loading'});
  useEffect(() => {
    let current = true;
    setState({status: 'loading'});
    discover().then(
      (applications) => {
        if (current) setState({status: 'ready', applications});
      },
      (error: unknown) => {
        if (current) setState({status: 'error', error});
      },
    );
    return () => {
      current = false;
    };
  }, [discover, attempt]);
  const retry = useCallback(() => {
    setAttempt((n) => n + 1);
  }, []);
  return [state, retry];
}
