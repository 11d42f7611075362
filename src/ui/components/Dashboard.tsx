import {useState} from 'react';
import {Box, Text} from 'ink';
import type {ApplicationRow, LogEntry, StatsStore} from '../../core/stats.js';
import {clip, describeState, dubboUrl, fit, formatAgo, formatClock, formatMs, layoutColumns, statusName} from '../format.js';
import type {Column} from '../format.js';
import {useNow} from '../hooks/use-now.js';
import {useStats} from '../hooks/use-stats.js';
import {useKeys} from '../hooks/use-keys.js';
import {useTerminalSize} from '../hooks/use-terminal-size.js';

export interface DashboardProps {
  /** e.g. `context kind-dev · namespace default`. */
  title: string;
  store: StatsStore;
  /** The attachment consumers must set (shown in the how-to line). */
  attachmentKey: string;
  /** Shown as a banner: `stopping…`, `applying…`, or an error from changing the selection. */
  status?: {text: string; tone: 'info' | 'error'} | undefined;
  /** Keys are ignored while stopping (q must call stop once). */
  stopping: boolean;
  onQuit: () => void;
  onPick: () => void;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const TONE_COLOR = {green: 'green', yellow: 'yellow', red: 'red', gray: 'gray'} as const;

function tableColumns(width: number): Column[] {
  return layoutColumns(width, [
    {key: 'application', title: 'APPLICATION', flex: 3, min: 10},
    {key: 'state', title: 'STATE', width: 15},
    {key: 'pod', title: 'POD', flex: 2, min: 12, drop: 3},
    {key: 'requests', title: 'REQ', width: 6, align: 'right'},
    {key: 'errors', title: 'ERR', width: 4, align: 'right'},
    {key: 'p50', title: 'P50', width: 6, align: 'right'},
    {key: 'p99', title: 'P99', width: 6, align: 'right', drop: 1},
    {key: 'last', title: 'LAST', width: 4, align: 'right', drop: 2},
  ]);
}

function ApplicationLine({row, columns, now}: {row: ApplicationRow; columns: readonly Column[]; now: number}) {
  const state = describeState(row);
  const cells: Record<string, string> = {
    // Several places: say where each comes from (`user-rpc · local`, `pay-rpc · staging`).
    application: row.origin === undefined ? row.application : `${row.application} · ${row.origin}`,
    state: state.label,
    pod: row.pod ?? '-',
    requests: String(row.requests),
    errors: String(row.errors),
    p50: formatMs(row.p50Ms),
    p99: formatMs(row.p99Ms),
    last: formatAgo(row.lastActivity, now),
  };
  return (
    <Text wrap="truncate-end">
      {columns.map((column, i) => {
        const text = fit(cells[column.key] ?? '', column.width, column.align) + (i < columns.length - 1 ? ' ' : '');
        if (column.key === 'state') return <Text key={column.key} color={TONE_COLOR[state.tone]}>{text}</Text>;
        if (column.key === 'errors' && row.errors > 0) return <Text key={column.key} color="red">{text}</Text>;
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
  ['l', 'show or hide the request log'],
  ['?', 'show or hide this help'],
] as const;

/**
 * The live view of a running `up`: where to point consumers, one row per routed application, and
 * a log of recent requests and events. It reads only the StatsStore snapshot.
 */
export function Dashboard({title, store, attachmentKey, status, stopping, onQuit, onPick}: DashboardProps) {
  const snapshot = useStats(store);
  const now = useNow(1000);
  const {columns, rows} = useTerminalSize();
  const [showLog, setShowLog] = useState(true);
  const [showHelp, setShowHelp] = useState(false);

  useKeys((input, key) => {
    if (stopping) return;
    if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
    else if (input === 'p') onPick();
    else if (input === 'l') setShowLog((shown) => !shown);
    else if (input === '?') setShowHelp((shown) => !shown);
    else if (key.escape && showHelp) setShowHelp(false);
  });

  const table = tableColumns(columns);
  const [primary, ...others] = snapshot.addresses;
  const { totals } = snapshot;
  const detailRows = snapshot.applications.filter((row) => row.detail !== undefined && (row.state === 'error' || row.state === 'no-ready-pods' || row.state === 'reconnecting'));
  // Lines other than log entries: title, listening, how-to, gap, table header, rows (+ reasons),
  // totals, footer; the log's gap and title; help and status when shown.
  const fixed = 7 + snapshot.applications.length + detailRows.length + (showLog ? 2 : 0)
    + (showHelp ? HELP.length + 2 : 0) + (status === undefined ? 0 : 1) + (stopping ? -1 : 0);
  // Stay at least one line short of the screen: a frame as tall as the terminal makes ink clear
  // the whole screen on every render (flicker) and leaves no newline after the last frame.
  const logLines = Math.max(3, Math.min(30, rows - 1 - fixed));
  const log = snapshot.log.slice(-logLines);

  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>dubbo-tunnel</Text>
        <Text dimColor> · {title}</Text>
      </Text>
      {primary === undefined ? (
        <Text color="yellow">not listening yet…</Text>
      ) : (
        <>
          <Text wrap="truncate-end">
            listening <Text color="cyan" bold>{dubboUrl(primary)}</Text>
            {others.length > 0 ? <Text dimColor> (also {others.join(', ')})</Text> : null}
          </Text>
          <Text wrap="truncate-end" dimColor>
            consumers: -D{'<interface>'}={dubboUrl(primary)} + attachment {attachmentKey}={'<application>'}
          </Text>
        </>
      )}
      <Box marginTop={1} flexDirection="column">
        <Text bold wrap="truncate-end">
          {table.map((column, i) => fit(column.title, column.width, column.align) + (i < table.length - 1 ? ' ' : '')).join('')}
        </Text>
        {snapshot.applications.length === 0 ? <Text dimColor>no applications routed; press p to pick some</Text> : null}
        {snapshot.applications.map((row) => (
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
      {showLog ? (
        <Box marginTop={1} flexDirection="column">
          <Text dimColor wrap="truncate-end">{clip(`── recent ${'─'.repeat(Math.max(0, columns - 10))}`, columns)}</Text>
          {log.length === 0 ? <Text dimColor>no requests yet</Text> : log.map((entry) => <LogLine key={entry.seq} entry={entry} width={columns} />)}
        </Box>
      ) : null}
      {showHelp ? (
        <Box marginTop={1} flexDirection="column">
          <Text bold>keys</Text>
          {HELP.map(([keys, text]) => (
            <Text key={keys} wrap="truncate-end">  {fit(keys, 10)} {text}</Text>
          ))}
        </Box>
      ) : null}
      {status === undefined ? null : (
        <Text color={status.tone === 'error' ? 'red' : 'yellow'} wrap="truncate-end">{status.text}</Text>
      )}
      {stopping ? null : (
        <Text dimColor wrap="truncate-end">q quit · p applications · l {showLog ? 'hide' : 'show'} log · ? help</Text>
      )}
    </Box>
  );
}
