import {useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {isFailingState} from '../../core/backend.js';
import type {CallLogView} from '../../inspect/call-record.js';
import type {ApplicationRow, LogEntry, StatsStore} from '../../stats/stats.js';
import {clip, describeState, dubboUrl, fit, fitEnd, fitNamed, formatAgo, formatClock, formatMs, layoutColumns, statusName} from '../format.js';
import type {Column} from '../format.js';
import {useNow} from '../hooks/use-now.js';
import {useStats} from '../hooks/use-stats.js';
import {useKeys} from '../hooks/use-keys.js';
import {useTerminalSize} from '../hooks/use-terminal-size.js';
import {CallsView} from './CallsView.js';

export interface DashboardProps {
  /** e.g. `context kind-dev · namespace default`. */
  title: string;
  store: StatsStore;
  /** The attachment consumers set when the service alone does not say where a call goes (shown in the how-to line). */
  attachmentKey: string;
  /** Shown as a banner: `stopping…`, `applying…`, or an error from changing the selection. */
  status?: {text: string; tone: 'info' | 'error'} | undefined;
  /**
   * Keys are ignored while stopping (q must call stop once; a second q is the owner's). `at-once`:
   * the stop no longer waits, and the owner's status says so instead of what it waited for.
   */
  stopping: boolean | 'at-once';
  onQuit: () => void;
  onPick: () => void;
  /** The recent calls; without it there is no calls view (and no `c`). */
  calls?: CallLogView | undefined;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const TONE_COLOR = {green: 'green', yellow: 'yellow', red: 'red', gray: 'gray'} as const;

/** The APPLICATION cell's text: the name, and its place when the session has several. */
function applicationText(row: ApplicationRow): string {
  return row.origin === undefined ? row.application : `${row.application} · ${row.origin}`;
}

/**
 * The table's columns for `width` characters. STATE is as wide as its longest label; APPLICATION
 * and POD want their longest cell, so at 80 columns SERVICES (the s view says the same) and LAST
 * (the log says it) give way before a name's place or a pod's name is cut.
 */
function tableColumns(width: number, rows: readonly ApplicationRow[]): Column[] {
  const widest = (cells: readonly string[]): number => Math.max(0, ...cells.map((cell) => cell.length));
  return layoutColumns(width, [
    {key: 'application', title: 'APPLICATION', flex: 3, min: 10, want: widest(rows.map(applicationText))},
    {key: 'state', title: 'STATE', width: Math.max('STATE'.length, widest(rows.map((row) => describeState(row).label)))},
    {key: 'pod', title: 'POD', flex: 2, min: 12, drop: 3, want: widest(rows.map((row) => row.pod ?? '-'))},
    {key: 'requests', title: 'REQ', width: 6, align: 'right'},
    {key: 'errors', title: 'ERR', width: 4, align: 'right'},
    {key: 'p50', title: 'P50', width: 6, align: 'right'},
    {key: 'p99', title: 'P99', width: 6, align: 'right', drop: 1},
    {key: 'last', title: 'LAST', width: 4, align: 'right', drop: 2, yields: true},
    // Dropped first: the services view (s) says the same and more.
    {key: 'services', title: 'SERVICES', width: 8, align: 'right', drop: 4, yields: true},
  ]);
}

/** The SERVICES cell: how many were learned, `…` while asking, `–` when no way answered (why: the s view). */
function servicesCell(services: ApplicationRow['services']): string {
  if (services === undefined) return '';
  if (services.state === 'learned') return String(services.keys.length);
  return services.state === 'learning' ? '…' : '–';
}

/** The services view, one line each: an application and how, then its service keys, indented. */
function servicesLines(rows: readonly ApplicationRow[]): {text: string; tone?: 'dim' | 'warn'}[] {
  const lines: {text: string; tone?: 'dim' | 'warn'}[] = [];
  for (const row of rows) {
    const services = row.services;
    if (services === undefined) {
      lines.push({text: `${row.application}: not asked yet`, tone: 'dim'});
    } else if (services.state === 'learning') {
      lines.push({text: `${row.application}: asking what it exports…`, tone: 'dim'});
    } else if (services.state === 'unknown' || services.keys.length === 0) {
      // The reason has one line per way tried; the first names the fixes in the log's warning too.
      const reason = services.reason?.split('\n').join('; ') ?? 'no way answered';
      lines.push({text: `${row.application}: none learned: ${reason}`, tone: 'warn'});
    } else {
      lines.push({text: `${row.application}: ${plural(services.keys.length, 'service')}${services.via === undefined ? '' : ` (via ${services.via})`}`});
      for (const key of services.keys) lines.push({text: `  ${key}`});
    }
  }
  return lines;
}

function ApplicationLine({row, columns, now}: {row: ApplicationRow; columns: readonly Column[]; now: number}) {
  const state = describeState(row);
  const cells: Record<string, string> = {
    state: state.label,
    pod: row.pod ?? '-',
    requests: String(row.requests),
    errors: String(row.errors),
    p50: formatMs(row.p50Ms),
    p99: formatMs(row.p99Ms),
    last: formatAgo(row.lastActivity, now),
    services: servicesCell(row.services),
  };
  return (
    <Text wrap="truncate-end">
      {columns.map((column, i) => {
        // Several places: each row says where it comes from (`user-rpc · local`, `pay-rpc · staging`), kept when the name is cut.
        const cell = column.key === 'application' ? fitNamed(row.application, row.origin, column.width)
          : column.key === 'pod' ? fitEnd(cells['pod'] ?? '', column.width)
            : fit(cells[column.key] ?? '', column.width, column.align);
        const text = cell + (i < columns.length - 1 ? ' ' : '');
        if (column.key === 'state') return <Text key={column.key} color={TONE_COLOR[state.tone]}>{text}</Text>;
        if (column.key === 'errors' && row.errors > 0) return <Text key={column.key} color="red">{text}</Text>;
        if (column.key === 'services' && row.services?.state === 'unknown') return <Text key={column.key} color="yellow">{text}</Text>;
        return <Text key={column.key}>{text}</Text>;
      })}
    </Text>
  );
}

function LogLine({entry, width}: {entry: LogEntry; width: number}) {
  const time = formatClock(entry.at);
  if (entry.kind === 'event') {
    const color = entry.level === 'error' ? 'red' : entry.level === 'warn' ? 'yellow' : 'cyan';
    const text = `${entry.application === undefined ? '' : `${entry.application}: `}${entry.message}`;
    return (
      <Text wrap="truncate-end">
        <Text dimColor>{time} </Text>
        <Text color={color}>{clip(text, Math.max(1, width - time.length - 1))}</Text>
      </Text>
    );
  }
  const status = entry.error === undefined ? statusName(entry) : `${statusName(entry)}: ${entry.error}`;
  const text = `${entry.application ?? '(no route)'} ${entry.target ?? '?'} ${status} ${formatMs(entry.ms)}`;
  return (
    <Text wrap="truncate-end">
      <Text dimColor>{time} </Text>
      <Text color={entry.failed ? 'red' : undefined}>{clip(text, Math.max(1, width - time.length - 1))}</Text>
    </Text>
  );
}

const HELP = [
  ['q, ctrl-c', 'stop: answer requests in flight, close tunnels and the port, exit'],
  ['p', 'pick applications again (the port stays open)'],
  ['↑↓ PgUp/Dn', 'scroll the applications when they do not all fit (Home/End: first/last)'],
  ['l', 'show or hide the request log'],
  ['s', 'show the services each application exports (in place of the log), or hide them'],
  ['?', 'show or hide this help'],
] as const;

/** Listed before `?` when the session has a call log. */
const CALLS_HELP = ['c', 'the calls view: recent calls with their arguments and answers (captured while it is open)'] as const;

/** Log lines kept on screen even when the table has to scroll. */
const MIN_LOG_LINES = 3;

/**
 * Which applications fit in `budget` lines starting at `offset` (each takes `heights[i]` lines):
 * the offset is clamped so the last page is full, and at least one row is always shown.
 */
function tableWindow(heights: readonly number[], offset: number, budget: number): {first: number; count: number} {
  const fits = (from: number): number => {
    let used = 0;
    let count = 0;
    for (let i = from; i < heights.length; i++) {
      used += heights[i] ?? 1;
      if (used > budget && count > 0) break;
      count++;
    }
    return count;
  };
  // The highest offset that still fills the window: scrolling stops at the last row.
  let last = heights.length;
  for (let used = 0; last > 0 && used + (heights[last - 1] ?? 1) <= budget;) used += heights[--last] ?? 1;
  const first = Math.max(0, Math.min(offset, last));
  return {first, count: fits(first)};
}

/**
 * The live view of a running `up`: where to point consumers, one row per routed application, and
 * a log of recent requests and events. It reads only the StatsStore snapshot.
 *
 * The frame always stays shorter than the terminal: taller, ink would clear the screen on every
 * render, the title and the addresses would scroll away, and the last frame would end without a
 * newline (the shell prompt would then start on the footer's line). So with more applications than
 * rows the table scrolls (↑↓, PgUp/PgDn, Home/End) and the footer says which rows are shown.
 */
export function Dashboard({title, store, attachmentKey, status: given, stopping, onQuit, onPick, calls}: DashboardProps) {
  const snapshot = useStats(store);
  // A stop that waits for answers says how many, and how not to wait; a session that routes
  // nothing yet says what it waits for. Both where the status goes.
  const drain = stopping === true ? snapshot.drain : undefined;
  const status = drain !== undefined
    ? {text: `stopping… ${drain.text}${drain.ended ? '' : ' · q or ctrl-c again: stop at once'}`, tone: 'info' as const}
    : given ?? (snapshot.awaiting === undefined ? undefined : {text: snapshot.awaiting, tone: 'info' as const});
  const now = useNow(1000);
  const {columns, rows} = useTerminalSize();
  const [showLog, setShowLog] = useState(true);
  const [showServices, setShowServices] = useState(false);
  const [showHelp, setShowHelp] = useState(false);
  const [offset, setOffset] = useState(0);
  const [showCalls, setShowCalls] = useState(false);
  /** Rows per page of the table as last rendered, for PgUp/PgDn. */
  const page = useRef(1);

  useKeys((input, key) => {
    if (stopping !== false) return;
    if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
    else if (input === 'p') onPick();
    else if (input === 'l') {
      setShowLog((shown) => !shown || showServices);
      setShowServices(false);
    } else if (input === 's') setShowServices((shown) => !shown);
    else if (input === '?') setShowHelp((shown) => !shown);
    else if (input === 'c' && calls !== undefined) setShowCalls(true);
    else if (key.escape && showHelp) setShowHelp(false);
    // Offsets past the end are clamped when rendering; clamp here too so ↑ works at once after End.
    else if (key.upArrow) setOffset((at) => Math.max(0, Math.min(at, snapshot.applications.length - page.current) - 1));
    else if (key.downArrow) setOffset((at) => at + 1);
    else if (key.pageUp) setOffset((at) => Math.max(0, Math.min(at, snapshot.applications.length - page.current) - page.current));
    else if (key.pageDown) setOffset((at) => at + page.current);
    else if (key.home) setOffset(0);
    else if (key.end) setOffset(snapshot.applications.length);
  }, !(showCalls && calls !== undefined));

  const titleLine = (
    <Text wrap="truncate-end">
      <Text bold>dubbo-tunnel</Text>
      <Text dimColor> · {title}</Text>
    </Text>
  );
  const statusLine = status === undefined ? null : (
    <Text color={status.tone === 'error' ? 'red' : 'yellow'} wrap="truncate-end">{status.text}</Text>
  );

  if (showCalls && calls !== undefined) {
    // The calls view takes the table's and the log's place; the title and the status stay, and the
    // frame stays one line short of the screen (see above).
    return (
      <Box flexDirection="column">
        {titleLine}
        <CallsView log={calls} columns={columns} rows={Math.max(4, rows - 2 - (status === undefined ? 0 : 1))} keysActive={stopping === false}
          onClose={() => setShowCalls(false)} onQuit={onQuit} />
        {statusLine}
      </Box>
    );
  }

  const table = tableColumns(columns, snapshot.applications);
  const help = calls === undefined ? HELP : [...HELP.slice(0, -1), CALLS_HELP, ...HELP.slice(-1)];
  const [primary, ...others] = snapshot.addresses;
  const { totals } = snapshot;
  const detailRows = snapshot.applications.filter((row) => row.detail !== undefined && (row.state === 'reconnecting' || (row.state !== 'idle' && isFailingState(row.state))));
  // Lines other than the table's rows and the log entries: title, listening, how-to, gap, table
  // header, totals, footer; the log's gap and title; help and status when shown.
  // The services view takes the log's place (and its lines).
  const showPanel = showLog || showServices;
  const chrome = 7 + (showPanel ? 2 : 0) + (showHelp ? help.length + 2 : 0) + (status === undefined ? 0 : 1) + (stopping === false ? 0 : -1);
  // One line short of the screen (see above).
  const budget = rows - 1 - chrome;
  const heights = snapshot.applications.map((row) => (detailRows.includes(row) ? 2 : 1));
  const tableLines = heights.reduce((sum, height) => sum + height, 0);
  const scrolling = tableLines > budget - (showPanel ? MIN_LOG_LINES : 0);
  const shown = scrolling
    ? tableWindow(heights, offset, Math.max(1, budget - (showPanel ? MIN_LOG_LINES : 0)))
    : {first: 0, count: snapshot.applications.length};
  page.current = Math.max(1, shown.count);
  const visibleRows = snapshot.applications.slice(shown.first, shown.first + shown.count);
  const visibleLines = heights.slice(shown.first, shown.first + shown.count).reduce((sum, height) => sum + height, 0);
  const logLines = Math.max(scrolling ? 1 : MIN_LOG_LINES, Math.min(30, budget - visibleLines));
  const log = snapshot.log.slice(-logLines);
  const allServiceLines = showServices ? servicesLines(snapshot.applications) : [];
  // What does not fit is counted on the last line instead.
  const serviceLines = allServiceLines.length > logLines
    ? [...allServiceLines.slice(0, logLines - 1), {text: `… ${allServiceLines.length - logLines + 1} more lines (a taller terminal shows them; so does \`telnet localhost ${snapshot.port ?? 20880}\` then ls -l)`, tone: 'dim' as const}]
    : allServiceLines;

  return (
    <Box flexDirection="column">
      {titleLine}
      {primary === undefined ? (
        <Text color="yellow">not listening yet…</Text>
      ) : (
        <>
          <Text wrap="truncate-end">
            listening <Text color="cyan" bold>{dubboUrl(primary, snapshot.scheme)}</Text>
            {others.length > 0 ? <Text dimColor> (also {others.join(', ')})</Text> : null}
          </Text>
          <Text wrap="truncate-end" dimColor>
            consumers: -D{'<interface>'}={dubboUrl(primary, snapshot.scheme)} · routed by service or {attachmentKey}
          </Text>
        </>
      )}
      <Box marginTop={1} flexDirection="column">
        <Text bold wrap="truncate-end">
          {table.map((column, i) => fit(column.title, column.width, column.align) + (i < table.length - 1 ? ' ' : '')).join('')}
        </Text>
        {snapshot.applications.length === 0 ? <Text dimColor>no applications routed; press p to pick some</Text> : null}
        {visibleRows.map((row) => (
          <Box key={row.application} flexDirection="column">
            <ApplicationLine row={row} columns={table} now={now} />
            {detailRows.includes(row) ? (
              <Text wrap="truncate-end" color={row.state === 'reconnecting' ? 'yellow' : 'red'}>  ↳ {row.detail}</Text>
            ) : null}
          </Box>
        ))}
      </Box>
      <Text wrap="truncate-end" dimColor>
        {plural(totals.requests, 'request')} · {plural(totals.errors, 'error')} · {plural(totals.connectionsOpen, 'consumer')} connected
        {totals.refused > 0 ? ` · ${totals.refused} refused` : ''}
      </Text>
      {showServices ? (
        <Box marginTop={1} flexDirection="column">
          <Text dimColor wrap="truncate-end">{clip(`── services ${'─'.repeat(Math.max(0, columns - 12))}`, columns)}</Text>
          {serviceLines.length === 0 ? <Text dimColor>no applications routed</Text> : serviceLines.map((line, i) => (
            <Text key={i} wrap="truncate-end" dimColor={line.tone === 'dim'} color={line.tone === 'warn' ? 'yellow' : undefined}>{clip(line.text, columns)}</Text>
          ))}
        </Box>
      ) : showLog ? (
        <Box marginTop={1} flexDirection="column">
          <Text dimColor wrap="truncate-end">{clip(`── recent ${'─'.repeat(Math.max(0, columns - 10))}`, columns)}</Text>
          {log.length === 0 ? <Text dimColor>no requests yet</Text> : log.map((entry) => <LogLine key={entry.seq} entry={entry} width={columns} />)}
        </Box>
      ) : null}
      {showHelp ? (
        <Box marginTop={1} flexDirection="column">
          <Text bold>keys</Text>
          {help.map(([keys, text]) => (
            <Text key={keys} wrap="truncate-end">  {fit(keys, 10)} {text}</Text>
          ))}
        </Box>
      ) : null}
      {statusLine}
      {stopping !== false ? null : (
        <Text dimColor wrap="truncate-end">
          {scrolling ? `↑↓ PgUp/PgDn rows ${shown.first + 1}–${shown.first + shown.count} of ${snapshot.applications.length} · ` : ''}
          q quit · p applications{calls === undefined ? '' : ' · c calls'} · l {showLog && !showServices ? 'hide' : 'show'} log · s {showServices ? 'hide' : 'show'} services · ? help
        </Text>
      )}
    </Box>
  );
}
