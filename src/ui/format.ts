import type {ApplicationRow} from '../stats/stats.js';

/**
 * Pure text helpers for the terminal UI. Rows are built from fixed-width cells so a line never
 * wraps: at 60 columns cells are dropped or truncated, never pushed onto a second line.
 */

/** Truncates to `width` (with an ellipsis) and pads to exactly `width`. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** Truncates without padding. */
export function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** `now`, `12s`, `3m`, `2h` since `at` (ms epoch); `-` when never. */
export function formatAgo(at: number | undefined, now: number): string {
  if (at === undefined) return '-';
  const seconds = Math.floor((now - at) / 1000);
  if (seconds < 1) return 'now';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

/** `HH:MM:SS` in local time. */
export function formatClock(at: number): string {
  const date = new Date(at);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `OK`, `SERVICE_NOT_FOUND`, `one-way`, or the number when Dubbo has no name for it. */
export function statusName(entry: {status: number | undefined; statusName: string | undefined}): string {
  if (entry.status === undefined) return 'one-way';
  return entry.statusName ?? String(entry.status);
}

export type Tone = 'green' | 'yellow' | 'red' | 'gray';

/** What the STATE column says for a row, and its colour. */
export function describeState(row: Pick<ApplicationRow, 'state' | 'upstreams'>): {label: string; tone: Tone} {
  switch (row.state) {
    case 'idle':
      // Static backends never report a state; an open upstream is the proof they work.
      return row.upstreams > 0 ? {label: '● ready', tone: 'green'} : {label: '○ idle', tone: 'gray'};
    case 'connecting':
      return {label: '◌ connecting', tone: 'yellow'};
    case 'ready':
      return {label: '● ready', tone: 'green'};
    case 'reconnecting':
      return {label: '◌ reconnecting', tone: 'yellow'};
    case 'no-ready-pods':
      return {label: '○ no ready pods', tone: 'red'};
    case 'unreachable':
      return {label: '○ unreachable', tone: 'red'};
    case 'no-permission':
      return {label: '✖ no permission', tone: 'red'};
    case 'stalled':
      return {label: '◌ stalled', tone: 'red'};
    case 'error':
      return {label: '✖ error', tone: 'red'};
  }
}

/** `127.0.0.1:20880` -> `dubbo://127.0.0.1:20880` (or `tri://…`; IPv6 hosts keep their brackets). */
export function dubboUrl(address: string, scheme: 'dubbo' | 'tri' = 'dubbo'): string {
  return `${scheme}://${address}`;
}

export interface Column {
  readonly key: string;
  readonly title: string;
  readonly width: number;
  readonly align: 'left' | 'right';
}

export interface ColumnSpec {
  key: string;
  title: string;
  /** Fixed width (columns without `flex`). */
  width?: number;
  /** Share of the leftover width; flex columns get at least `min`. */
  flex?: number;
  min?: number;
  align?: 'left' | 'right';
  /** Droppable when too narrow; the highest number goes first. */
  drop?: number;
  /** A flex column's content width: the leftover goes first to bring flex columns up to it. */
  want?: number;
  /** Dropped also when the flex columns would otherwise stay below what they `want` (a column said elsewhere too). */
  yields?: boolean;
}

/**
 * Lays out columns for `total` characters: droppable columns go first (highest `drop` first) until
 * the minimum widths fit, and `yields` columns also when that lets the flex columns get what they
 * `want`; then flex columns are brought up to what they want, in order, and share what is left.
 */
export function layoutColumns(total: number, specs: readonly ColumnSpec[], gap = 1): Column[] {
  const minimum = (spec: ColumnSpec): number => (spec.flex === undefined ? (spec.width ?? 1) : (spec.min ?? 1));
  const wanted = (spec: ColumnSpec): number => Math.max(minimum(spec), spec.want ?? 0);
  const need = (list: readonly ColumnSpec[], size: (spec: ColumnSpec) => number = minimum): number =>
    list.reduce((sum, spec) => sum + size(spec), 0) + gap * Math.max(0, list.length - 1);
  let chosen = [...specs];
  const dropFirst = (candidates: readonly ColumnSpec[]): boolean => {
    if (candidates.length === 0) return false;
    const victim = candidates.reduce((a, b) => ((b.drop ?? 0) > (a.drop ?? 0) ? b : a));
    chosen = chosen.filter((spec) => spec !== victim);
    return true;
  };
  while (need(chosen) > total && dropFirst(chosen.filter((spec) => spec.drop !== undefined)));
  // Yielding columns go only when that gives every flex column what it wants: dropping them for
  // a name that would be cut anyway helps nobody.
  const yielding = chosen.filter((spec) => spec.yields === true);
  if (need(chosen, wanted) > total && need(chosen.filter((spec) => !yielding.includes(spec)), wanted) <= total) {
    while (need(chosen, wanted) > total && dropFirst(chosen.filter((spec) => spec.yields === true)));
  }
  let extra = Math.max(0, total - need(chosen));
  const widths = new Map(chosen.map((spec) => [spec, minimum(spec)]));
  for (const spec of chosen) {
    if (spec.flex === undefined) continue;
    const give = Math.min(extra, wanted(spec) - minimum(spec));
    widths.set(spec, minimum(spec) + give);
    extra -= give;
  }
  let flexLeft = chosen.reduce((sum, spec) => sum + (spec.flex ?? 0), 0);
  return chosen.map((spec) => {
    let width = widths.get(spec) ?? minimum(spec);
    if (spec.flex !== undefined) {
      // The last flex column takes the rounding remainder, so the row is exactly `total` wide.
      const share = flexLeft === spec.flex ? extra : Math.floor((extra * spec.flex) / flexLeft);
      width += share;
      extra -= share;
      flexLeft -= spec.flex;
    }
    return {key: spec.key, title: spec.title, width, align: spec.align ?? 'left'};
  });
}

/**
 * `user-rpc · staging` in `width` characters: when it does not fit, the name is shortened and the
 * place kept (it is what tells two rows of one name apart), down to a few letters of the name.
 */
export function fitNamed(name: string, place: string | undefined, width: number): string {
  if (place === undefined) return fit(name, width);
  const whole = `${name} · ${place}`;
  const room = width - place.length - 3;
  if (whole.length <= width || room < 4) return fit(whole, width);
  return fit(`${clip(name, room)} · ${place}`, width);
}

/** Pads to `width`, or cuts the start (with an ellipsis): pod names differ at their end. */
export function fitEnd(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length > width ? `…${text.slice(text.length - width + 1)}` : text.padEnd(width);
}

/** Joins cells into one line of exactly the columns' width. */
export function joinCells(columns: readonly Column[], cells: Readonly<Record<string, string>>, gap = 1): string {
  return columns.map((column) => fit(cells[column.key] ?? '', column.width, column.align)).join(' '.repeat(gap));
}
