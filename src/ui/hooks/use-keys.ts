import {createContext, useContext, useLayoutEffect, useRef} from 'react';
import {useInput} from 'ink';
import type {Key} from 'ink';

export type KeyHandler = (input: string, key: Key) => void;

/** Handlers registered by mounted components; the newest active one gets the keys. */
export interface KeyRouter {
  register(handler: {current: KeyHandler}): () => void;
}

export const KeyRouterContext = createContext<KeyRouter | undefined>(undefined);

/**
 * Like ink's useInput, but safe when keys arrive faster than React's passive effects run.
 *
 * ink subscribes useInput handlers in a passive effect, so for a few milliseconds after a screen
 * changes the previous screen's handler still receives keys (and a new one has not subscribed yet).
 * A quick `q` right after the dashboard appears would reach the unmounted picker and quit. Here
 * components register in a layout effect, which runs in the same commit that paints the frame,
 * with a KeyRouter (components/KeyRouter.tsx) that owns the one ink subscription. Without a router
 * (a component rendered on its own in a test) it falls back to useInput with the latest handler.
 */
export function useKeys(handler: KeyHandler, isActive = true): void {
  const router = useContext(KeyRouterContext);
  const latest = useRef(handler);
  useLayoutEffect(() => {
    latest.current = handler;
  });
  useLayoutEffect(() => {
    if (router === undefined || !isActive) return undefined;
    return router.register(latest);
  }, [router, isActive]);
  useInput((input, key) => {
    latest.current(input, key);
  }, {isActive: router === undefined && isActive});
}
