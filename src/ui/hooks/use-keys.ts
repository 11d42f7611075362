import {createContext, useContext, useLayoutEffect, useRef} from 'react';
import {useInput} from 'ink';
import type {Key} from 'ink';

export type KeyHandler = (input: string, key: Key) => void;

/**
 * ink hands a run of plain characters to useInput as ONE input ("paste"): tmux send-keys, fast
 * typing over ssh or a paste of ` \r` arrives as `input === ' \r'` with no key flag set, and a
 * handler comparing against ' ' or key.return would miss both. Split such runs into single keys,
 * with the flags ink would have set for each one on its own.
 */
export function splitKeys(input: string, key: Key): [string, Key][] {
  if (input.length <= 1 || key.ctrl || key.meta || input.startsWith('\u001B')) return [[input, key]];
  const plain: Key = {...key, return: false, tab: false, backspace: false, delete: false, escape: false, shift: false};
  return [...input].map((char): [string, Key] => {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\r' || char === '\n') return ['', {...plain, return: true}];
    if (char === '\t') return ['', {...plain, tab: true}];
    if (char === '\u007F' || char === '\b') return ['', {...plain, backspace: true}];
    // Control characters 1-26 are ctrl+a..z, which ink reports as the letter with ctrl set.
    if (code >= 1 && code <= 26) return [String.fromCodePoint(code + 96), {...plain, ctrl: true}];
    return [char, {...plain, shift: /[A-Z]/.test(char)}];
  });
}

/** Calls `handler` once per key in `input` (see splitKeys). */
export function dispatch(handler: KeyHandler, input: string, key: Key): void {
  for (const [one, flags] of splitKeys(input, key)) handler(one, flags);
}

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
    dispatch(latest.current, input, key);
  }, {isActive: router === undefined && isActive});
}
