import {parseChoice, qualifiedName} from '../core/applications.js';
import type {DiscoveredApplication} from '../core/applications.js';

/**
 * The picker's keyboard logic as a pure function. Keys can arrive faster than React re-renders
 * (fast typing, pastes, tmux send-keys), so the component keeps this state in a ref and applies
 * each key to the latest state instead of to whatever its last render closed over.
 */
export interface PickerState {
  readonly selected: ReadonlySet<string>;
  readonly filter: string;
  /** Letters go to the filter (entered by typing, or `/` so a filter may start with `a` or `q`). */
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

/**
 * What a row is chosen by: the application name, or `name@where` when several places offer that
 * name (a clash: only one of them can be routed, so the choice must say which).
 */
export function choiceId(app: DiscoveredApplication, applications: readonly DiscoveredApplication[]): string {
  if (app.where === undefined) return app.application;
  const clash = applications.some((other) => other !== app && other.application === app.application);
  return clash ? qualifiedName(app.application, app.where) : app.application;
}

/**
 * The selection in row ids: a bare name of a clash (remembered, or --all) ticks its first place in
 * the list (the place the session's precedence routes), and at most one place per name is ticked.
 */
export function selectedIds(selected: ReadonlySet<string>, applications: readonly DiscoveredApplication[]): Set<string> {
  const ids = new Set<string>();
  const taken = new Set<string>();
  for (const app of applications) {
    const id = choiceId(app, applications);
    if (taken.has(app.application)) continue;
    if (selected.has(id) || (id !== app.application && selected.has(app.application)
      && !applications.some((other) => other.application === app.application && selected.has(choiceId(other, applications))))) {
      ids.add(id);
      taken.add(app.application);
    }
  }
  // Names not found now stay selected (shown as "not found now").
  for (const entry of selected) {
    if (!applications.some((app) => app.application === parseChoice(entry).application)) ids.add(entry);
  }
  return ids;
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
  const selectedNow = selectedIds(state.selected, applications);
  const base: PickerState = {...state, selected: selectedNow, cursor, notice: undefined};
  const current = visible[cursor];
  const idOf = (app: DiscoveredApplication): string => choiceId(app, applications);
  const move = (to: number): PickerState => ({...base, cursor: Math.max(0, Math.min(visible.length - 1, to))});
  const toggle = (rows: readonly DiscoveredApplication[], on: boolean): PickerState => {
    const selected = new Set(selectedNow);
    for (const app of rows) {
      // Ticking one place of a clash unticks the others: choosing the other swaps.
      if (on) for (const other of applications) if (other.application === app.application) selected.delete(idOf(other));
      if (on) selected.add(idOf(app));
      else selected.delete(idOf(app));
    }
    return {...base, selected};
  };
  const toggleAll = (): PickerState => {
    const allOn = visible.every((app) => selectedNow.has(idOf(app)) || visible.some((other) => other.application === app.application && selectedNow.has(idOf(other))));
    // One place per name: the first visible one (the session's precedence order).
    const firsts = visible.filter((app, index) => visible.findIndex((other) => other.application === app.application) === index);
    return toggle(firsts, !allOn);
  };
  const setFilter = (filter: string): PickerState => ({...base, filter, filtering: filter !== '' || state.filtering, cursor: 0});

  if (key.upArrow) return [move(cursor - 1), undefined];
  if (key.downArrow) return [move(cursor + 1), undefined];
  if (key.pageUp) return [move(cursor - 10), undefined];
  if (key.pageDown) return [move(cursor + 10), undefined];
  if (key.return) {
    const chosen = applications.map(idOf).filter((id) => selectedNow.has(id));
    // Nothing checked: enter means "this one", which is what a person with one row in mind expects.
    if (chosen.length > 0) return [base, {type: 'submit', applications: chosen}];
    if (current !== undefined) return [base, {type: 'submit', applications: [idOf(current)]}];
    return [{...base, notice: 'nothing matches the filter; esc clears it'}, undefined];
  }
  if (key.escape) {
    if (state.filtering || state.filter !== '') return [{...base, filter: '', filtering: false, cursor: 0}, undefined];
    return [base, {type: 'cancel'}];
  }
  if (input === ' ') {
    return [current === undefined ? base : toggle([current], !selectedNow.has(idOf(current))), undefined];
  }
  if (key.ctrl && input === 'a') return [toggleAll(), undefined];
  if (key.backspace || key.delete) {
    const filter = state.filter.slice(0, -1);
    return [{...base, filter, filtering: filter !== '', cursor: 0}, undefined];
  }
  if (!state.filtering) {
    if (input === 'a') return [toggleAll(), undefined];
    if (input === 'q') return [base, {type: 'cancel'}];
    if (input === '/') return [{...base, filtering: true}, undefined];
  }
  if (input.length > 0 && !key.ctrl && !key.meta && !key.tab && FILTER_INPUT.test(input)) {
    return [setFilter(state.filter + input), undefined];
  }
  return [state, undefined];
}
