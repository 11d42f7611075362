import type {DiscoveredApplication} from '../core/applications.js';

/**
 * The picker's keyboard logic as a pure function. Keys can arrive faster than React re-renders
 * (fast typing, pastes, tmux send-keys), so the component keeps this state in a ref and applies
 * each key to the latest state instead of to whatever its last render closed over.
 */
export interface PickerState {
  readonly selected: ReadonlySet<string>;
  readonly filter: string;
  /** The filter line is open (typing started it, or `/`), even while it is still empty. */
  readonly filtering: boolean;
  /** Index into the visible rows. */
  readonly cursor: number;
  readonly notice: string | undefined;
}

/** The subset of ink's Key the picker reads. */
export interface PickerKey {
  upArrow: boolean;
  downArrow: boolean;
  pageUp: boolean;
  pageDown: boolean;
  return: boolean;
  escape: boolean;
  ctrl: boolean;
  meta: boolean;
  tab: boolean;
  backspace: boolean;
  delete: boolean;
}

export type PickerEffect =
  | {readonly type: 'submit'; readonly applications: string[]}
  | {readonly type: 'cancel'}
  | {readonly type: 'interrupt'}
  | {readonly type: 'retry'};

export function initialPickerState(preselected: readonly string[]): PickerState {
  return {selected: new Set(preselected), filter: '', filtering: false, cursor: 0, notice: undefined};
}

export function visibleApplications(applications: readonly DiscoveredApplication[], filter: string): readonly DiscoveredApplication[] {
  const needle = filter.toLowerCase();
  if (needle === '') return applications;
  return applications.filter((app) =>
    [app.application, app.namespace ?? '', app.service].some((text) => text.toLowerCase().includes(needle)));
}

/** Characters that may appear in application, namespace and service names. */
const FILTER_INPUT = /^[\w.\-/:]+$/;

/**
 * Applies one key. `applications` is undefined while discovery runs or after it failed; then only
 * quitting and retrying do anything.
 *
 * With a list on screen every character that can be part of a name goes to the filter, so no
 * letter is ever a command there: typing `app-29` must filter, not select all at the `a`. The
 * commands are keys no name contains: arrows, space, enter, esc, ctrl-a, ctrl-u, ctrl-c.
 */
export function pickerKey(
  state: PickerState,
  input: string,
  key: PickerKey,
  applications: readonly DiscoveredApplication[] | undefined,
  loading: boolean,
): [PickerState, PickerEffect | undefined] {
  if (key.ctrl && input === 'c') return [state, {type: 'interrupt'}];
  if (applications === undefined || applications.length === 0) {
    if (input === 'q' || key.escape) return [state, {type: 'cancel'}];
    if (input === 'r' && !loading) return [state, {type: 'retry'}];
    return [state, undefined];
  }
  const visible = visibleApplications(applications, state.filter);
  const cursor = Math.min(state.cursor, Math.max(0, visible.length - 1));
  const base: PickerState = {...state, cursor, notice: undefined};
  const current = visible[cursor];
  const move = (to: number): PickerState => ({...base, cursor: Math.max(0, Math.min(visible.length - 1, to))});
  const toggle = (names: readonly string[], on: boolean): PickerState => {
    const selected = new Set(state.selected);
    for (const name of names) {
      if (on) selected.add(name);
      else selected.delete(name);
    }
    return {...base, selected};
  };
  const toggleAll = (): PickerState => {
    const names = visible.map((app) => app.application);
    return toggle(names, !names.every((name) => state.selected.has(name)));
  };
  const setFilter = (filter: string): PickerState => ({...base, filter, filtering: filter !== '' || state.filtering, cursor: 0});

  if (key.upArrow) return [move(cursor - 1), undefined];
  if (key.downArrow) return [move(cursor + 1), undefined];
  if (key.pageUp) return [move(cursor - 10), undefined];
  if (key.pageDown) return [move(cursor + 10), undefined];
  if (key.return) {
    const chosen = applications.map((app) => app.application).filter((name) => state.selected.has(name));
    // Nothing checked: enter means "this one", which is what a person with one row in mind expects.
    if (chosen.length > 0) return [base, {type: 'submit', applications: chosen}];
    if (current !== undefined) return [base, {type: 'submit', applications: [current.application]}];
    return [{...base, notice: 'nothing matches the filter; esc clears it'}, undefined];
  }
  if (key.escape) {
    if (state.filtering || state.filter !== '') return [{...base, filter: '', filtering: false, cursor: 0}, undefined];
    return [base, {type: 'cancel'}];
  }
  if (input === ' ') {
    return [current === undefined ? base : toggle([current.application], !state.selected.has(current.application)), undefined];
  }
  if (key.ctrl && input === 'a') return [toggleAll(), undefined];
  // ctrl-u clears the whole line, as in a shell.
  if (key.ctrl && input === 'u') return [{...base, filter: '', filtering: false, cursor: 0}, undefined];
  if (key.backspace || key.delete) {
    const filter = state.filter.slice(0, -1);
    return [{...base, filter, filtering: filter !== '', cursor: 0}, undefined];
  }
  // `/` opens the filter line (the habit from less and vim); inside a filter it is a character.
  if (input === '/' && state.filter === '') return [{...base, filtering: true}, undefined];
  if (input.length > 0 && !key.ctrl && !key.meta && !key.tab && FILTER_INPUT.test(input)) {
    return [setFilter(state.filter + input), undefined];
  }
  return [state, undefined];
}
