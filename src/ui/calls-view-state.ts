import type {Key} from 'ink';
import type {CallRecord} from '../inspect/call-record.js';
import {callMatches, parseCallFilter} from './calls-filter.js';

/**
 * What the calls view remembers between keys, and what each key does to it: a pure function, so
 * keys that arrive together (a paste, a held arrow key, tmux send-keys) each see the state the one
 * before left, not the state of the last render.
 */
export interface CallsViewState {
  readonly filterText: string;
  /** The filter line has the keys (after `/`). */
  readonly editing: boolean;
  readonly failedOnly: boolean;
  /** Paused: the calls shown, as they were when space was pressed. */
  readonly frozen: readonly CallRecord[] | undefined;
  /** The selected call; undefined follows the newest. */
  readonly selectedSeq: number | undefined;
  /** The call whose detail is open (kept even when the ring lets it go). */
  readonly detail: CallRecord | undefined;
  readonly detailOffset: number;
  /** Long strings and lists unfolded in the detail. */
  readonly expanded: boolean;
}

export const INITIAL_CALLS_VIEW: CallsViewState = {
  filterText: '', editing: false, failedOnly: false, frozen: undefined, selectedSeq: undefined, detail: undefined, detailOffset: 0, expanded: false,
};

export interface CallsViewEnv {
  /** The calls the log has now (oldest first). */
  readonly live: readonly CallRecord[];
  /** List rows on screen (a page for PgUp/PgDn). */
  readonly listRows: number;
  /** Detail lines on screen. */
  readonly detailRows: number;
  /** How many lines the detail of `call` takes. */
  readonly detailLength: (call: CallRecord, expanded: boolean) => number;
}

/** The calls the list shows: the live or paused ones that pass the filter, newest first. */
export function shownCalls(state: CallsViewState, live: readonly CallRecord[]): CallRecord[] {
  const filter = parseCallFilter(state.filterText);
  return (state.frozen ?? live).filter((call) => callMatches(call, filter, state.failedOnly)).reverse();
}

/** Where the selection is in `shown` (newest first). */
export function selectedIndex(shown: readonly CallRecord[], seq: number | undefined): number {
  if (seq === undefined || shown.length === 0) return 0;
  const exact = shown.findIndex((call) => call.seq === seq);
  if (exact !== -1) return exact;
  // The selected call left the ring or the filter: the next older one that is still shown.
  const older = shown.findIndex((call) => call.seq < seq);
  return older === -1 ? shown.length - 1 : older;
}

export type CallsViewEffect = 'close' | 'quit' | undefined;

function detailKey(state: CallsViewState, detail: CallRecord, input: string, key: Key, env: CallsViewEnv): {state: CallsViewState; effect?: CallsViewEffect} {
  const last = Math.max(0, env.detailLength(detail, state.expanded) - env.detailRows);
  const scroll = (to: number): {state: CallsViewState} => ({state: {...state, detailOffset: Math.max(0, Math.min(last, to))}});
  const at = Math.min(state.detailOffset, last);
  if (key.escape) return {state: {...state, detail: undefined}};
  if (input === 'c') return {state, effect: 'close'};
  if (key.return) return {state: {...state, expanded: !state.expanded}};
  if (key.upArrow) return scroll(at - 1);
  if (key.downArrow) return scroll(at + 1);
  if (key.pageUp) return scroll(at - env.detailRows);
  if (key.pageDown) return scroll(at + env.detailRows);
  if (key.home) return scroll(0);
  if (key.end) return scroll(last);
  return {state};
}

function filterKey(state: CallsViewState, input: string, key: Key): CallsViewState {
  if (key.return) return {...state, editing: false};
  if (key.escape) return {...state, filterText: '', editing: false};
  if (key.backspace || key.delete) return {...state, filterText: state.filterText.slice(0, -1)};
  if (key.ctrl && input === 'u') return {...state, filterText: ''};
  if (!key.ctrl && !key.meta && input !== '' && !input.startsWith('\u001B')) return {...state, filterText: state.filterText + input};
  return state;
}

/** What one key does. `effect` asks the owner to close the view or to quit. */
export function callsViewKey(state: CallsViewState, input: string, key: Key, env: CallsViewEnv): {state: CallsViewState; effect?: CallsViewEffect} {
  if ((input === 'q' && !state.editing) || (key.ctrl && input === 'c')) return {state, effect: 'quit'};
  if (state.detail !== undefined) return detailKey(state, state.detail, input, key, env);
  if (state.editing) return {state: filterKey(state, input, key)};
  const shown = shownCalls(state, env.live);
  const index = selectedIndex(shown, state.selectedSeq);
  const select = (at: number): {state: CallsViewState} => {
    const call = shown[Math.max(0, Math.min(shown.length - 1, at))];
    return {state: call === undefined ? state : {...state, selectedSeq: call.seq}};
  };
  if (key.escape || input === 'c') return {state, effect: 'close'};
  if (input === '/') return {state: {...state, editing: true}};
  if (input === 'f') return {state: {...state, failedOnly: !state.failedOnly}};
  if (input === ' ') return {state: {...state, frozen: state.frozen === undefined ? env.live : undefined}};
  if (key.upArrow) return select(index - 1);
  if (key.downArrow) return select(index + 1);
  if (key.pageUp) return select(index - env.listRows);
  if (key.pageDown) return select(index + env.listRows);
  if (key.home) return {state: {...state, selectedSeq: undefined}};
  if (key.end) return select(shown.length - 1);
  if (key.return) {
    const call = shown[index];
    // The selection moves onto the opened call, so a list that follows the newest comes back to it.
    if (call !== undefined) return {state: {...state, selectedSeq: call.seq, detail: call, detailOffset: 0, expanded: false}};
  }
  return {state};
}
