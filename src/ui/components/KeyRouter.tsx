import {useMemo, useRef} from 'react';
import type {ReactNode} from 'react';
import {useInput} from 'ink';
import {KeyRouterContext, dispatch} from '../hooks/use-keys.js';
import type {KeyHandler, KeyRouter as Router} from '../hooks/use-keys.js';

/** Owns the single ink input subscription and hands each key to the newest registered handler. */
export function KeyRouter({children}: {children: ReactNode}) {
  const stack = useRef<{current: KeyHandler}[]>([]);
  const router = useMemo<Router>(() => ({
    register(handler) {
      stack.current.push(handler);
      return () => {
        stack.current = stack.current.filter((entry) => entry !== handler);
      };
    },
  }), []);
  useInput((input, key) => {
    const top = stack.current.at(-1);
    if (top !== undefined) dispatch((one, flags) => top.current(one, flags), input, key);
  });
  return <KeyRouterContext.Provider value={router}>{children}</KeyRouterContext.Provider>;
}
