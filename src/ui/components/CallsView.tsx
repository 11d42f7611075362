import {useMemo, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import type {CallLogView, CallRecord} from '../../inspect/call-record.js';
import {INITIAL_CALLS_VIEW, callsViewKey, selectedIndex, shownCalls} from '../calls-view-state.js';
import type {CallsViewState} from '../calls-view-state.js';
import {callLabel, callMarker, fitCallLabel, detailLines, formatBytes, formatCallTime, statusText, statusTone} from '../calls-format.js';
import type {LineTone} from '../calls-format.js';
import {clip, fit, formatMs, layoutColumns} from '../format.js';
import type {Column} from '../format.js';
import {useCallLog} from '../hooks/use-call-log.js';
import {useKeys} from '../hooks/use-keys.js';

export interface CallsViewProps {
  log: CallLogView;
  columns: number;
  /** Lines the view may use, its header and footer included. */
  rows: number;
  /** False while the owner takes the keys (the session is stopping). */
  keysActive: boolean;
  /** `c` or esc in the list: back to the dashboard. */
  onClose: () => void;
  onQuit: () => void;
}

function toneProps(tone: LineTone | undefined): {color?: string; bold?: boolean; dimColor?: boolean} {
  if (tone === undefined) return {};
  if (tone === 'bold') return {bold: true};
  if (tone === 'dim') return {dimColor: true};
  return {color: tone};
}

function listColumns(width: number, calls: readonly CallRecord[]): Column[] {
  const widest = (cells: readonly string[]): number => Math.max(0, ...cells.map((cell) => cell.length));
  return layoutColumns(width, [
    {key: 'time', title: 'TIME', width: 12},
    {key: 'marker', title: '', width: 2, drop: 1},
    // On a narrow screen the call's name gets the room before the application's.
    {key: 'application', title: 'APPLICATION', flex: 1, min: 6, want: Math.min(Math.max(8, Math.floor(width / 8)), widest(calls.map((call) => call.application ?? '(no route)')))},
    {key: 'call', title: 'CALL', flex: 2, min: 10, want: widest(calls.map(callLabel))},
    // The longest names (SERVICE_NOT_FOUND) are cut on a narrow screen rather than the call's name.
    {key: 'status', title: 'STATUS', width: Math.min(Math.max(7, Math.floor(width / 5)), Math.max(6, widest(calls.map(statusText))))},
    {key: 'latency', title: 'LAT', width: 7, align: 'right'},
    // Sizes and the connection give way before the call's name is cut (the detail says them too).
    {key: 'size', title: 'REQ/ANS', width: 11, align: 'right', drop: 2, yields: true},
    {key: 'connection', title: 'CONN', width: 5, align: 'right', drop: 3, yields: true},
  ]);
}

function CallLine({call, columns, selected}: {call: CallRecord; columns: readonly Column[]; selected: boolean}) {
  const cells: Record<string, string> = {
    time: formatCallTime(call.at),
    marker: callMarker(call),
    application: call.application ?? '(no route)',
    call: fitCallLabel(call, columns.find((column) => column.key === 'call')?.width ?? 0),
    status: statusText(call),
    latency: formatMs(call.latencyMs),
    size: `${formatBytes(call.requestBytes)}/${formatBytes(call.answerBytes)}`,
    connection: `#${call.connectionId}`,
  };
  return (
    <Text wrap="truncate-end">
      {/* The pointer says which row is selected where inverse video does not show (NO_COLOR, a pasted capture). */}
      <Text color="cyan">{selected ? '› ' : '  '}</Text>
      <Text inverse={selected}>
      {columns.map((column, i) => {
        const text = fit(cells[column.key] ?? '', column.width, column.align) + (i < columns.length - 1 ? ' ' : '');
        if (column.key === 'status') return <Text key={column.key} {...toneProps(statusTone(call))}>{text}</Text>;
        if (column.key === 'marker') return <Text key={column.key} color="cyan">{text}</Text>;
        return <Text key={column.key}>{text}</Text>;
      })}
      </Text>
    </Text>
  );
}

/**
 * The calls view: the recent calls newest first, one line each, and the detail of one. While it is
 * mounted it holds the call log open, so calls are captured (and decoded) only while someone looks.
 *
 * The list can be paused (space): the shown calls stay as they were and the header counts what
 * arrived since. The selection stays on its call while newer ones arrive above it; Home goes back
 * to following the newest. What each key does is calls-view-state.ts.
 */
export function CallsView({log, columns, rows, keysActive, onClose, onQuit}: CallsViewProps) {
  const {calls: live, skipped} = useCallLog(log);
  const [state, setState] = useState<CallsViewState>(INITIAL_CALLS_VIEW);
  /** The state the last key left: keys that arrive together are handled before React renders again. */
  const latest = useRef(state);
  /** The first list row shown, kept between renders so the list scrolls only when the selection leaves it. */
  const listTop = useRef(0);
  const {filterText, editing, failedOnly, frozen, detail, detailOffset, expanded} = state;

  const shown = useMemo(() => shownCalls(state, live), [live, state]);
  const source = frozen ?? live;
  const lastFrozenSeq = frozen === undefined ? undefined : Math.max(-1, ...frozen.map((call) => call.seq));
  const arrived = lastFrozenSeq === undefined ? 0 : live.filter((call) => call.seq > lastFrozenSeq).length;

  const listRows = Math.max(1, rows - 3);
  const detailRows = Math.max(1, rows - 1);
  const detailWidth = Math.max(20, columns);
  const index = selectedIndex(shown, state.selectedSeq);
  const lines = useMemo(() => (detail === undefined ? [] : detailLines(detail, detailWidth, expanded)), [detail, detailWidth, expanded]);
  const top = Math.min(detailOffset, Math.max(0, lines.length - detailRows));

  useKeys((input, key) => {
    const {state: next, effect} = callsViewKey(latest.current, input, key, {
      live, listRows, detailRows,
      detailLength: (call, unfolded) => (call === detail && unfolded === expanded ? lines.length : detailLines(call, detailWidth, unfolded).length),
    });
    latest.current = next;
    setState(next);
    if (effect === 'close') onClose();
    else if (effect === 'quit') onQuit();
  }, keysActive);

  if (detail !== undefined) {
    const visible = lines.slice(top, top + detailRows);
    const position = lines.length > detailRows ? `lines ${top + 1}–${top + visible.length} of ${lines.length} · ` : '';
    return (
      <Box flexDirection="column">
        {visible.map((line, i) => (
          <Text key={top + i} wrap="truncate-end" {...toneProps(line.tone)}>{line.text === '' ? ' ' : line.text}</Text>
        ))}
        <Text dimColor wrap="truncate-end">{clip(`${position}↑↓ scroll · enter ${expanded ? 'fold' : 'expand'} long values · esc list · c dashboard · q quit`, columns)}</Text>
      </Box>
    );
  }

  // Keep the selection in view, moving the window as little as possible.
  if (index < listTop.current) listTop.current = index;
  else if (index >= listTop.current + listRows) listTop.current = index - listRows + 1;
  listTop.current = Math.max(0, Math.min(listTop.current, shown.length - listRows));
  const first = listTop.current;
  const visible = shown.slice(first, first + listRows);
  // Two columns go to the selection pointer; widths follow every shown call, so scrolling does not move them.
  const table = listColumns(columns - 2, shown);

  const header = [
    `calls ${shown.length === source.length ? String(source.length) : `${shown.length} of ${source.length}`}`,
    editing ? `/${filterText}_` : filterText === '' ? undefined : `filter ${filterText}`,
    failedOnly ? 'failed only' : undefined,
    frozen === undefined ? undefined : `paused · ${arrived} new`,
    // A flood decoded in part (the log keeps the forwarding thread free); a recording keeps every call.
    skipped === 0 ? undefined : `${skipped} not decoded (too many a second; --record keeps all)`,
    shown.length > listRows ? `rows ${first + 1}–${first + visible.length}` : undefined,
  ].filter((part) => part !== undefined).join(' · ');
  const empty = source.length === 0 ? 'no calls yet: calls are captured while this view is open'
    : filterText === '' ? 'no failed calls (f shows all)'
      : failedOnly ? 'no failed calls match the filter (f shows all; / then esc clears the filter)'
        : 'no calls match the filter (/ then esc clears it)';

  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{clip(header, columns)}</Text>
      </Text>
      <Text bold wrap="truncate-end">
        {'  '}{table.map((column, i) => fit(column.title, column.width, column.align) + (i < table.length - 1 ? ' ' : '')).join('')}
      </Text>
      {visible.length === 0 ? <Text dimColor wrap="truncate-end">{clip(empty, columns)}</Text> : visible.map((call, i) => (
        <CallLine key={call.seq} call={call} columns={table} selected={first + i === index} />
      ))}
      <Text dimColor wrap="truncate-end">
        {clip(editing
          ? 'type to filter: app:, svc:, method: or Interface#method · enter keep · esc clear'
          : `↑↓ select · enter detail · / filter · f failed only · space ${frozen === undefined ? 'pause' : 'resume'} · c back · q quit`, columns)}
      </Text>
    </Box>
  );
}
