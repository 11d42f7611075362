import {useMemo, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import type {DiscoveredApplication} from '../../core/applications.js';
import {fit, layoutColumns} from '../format.js';
import {choiceId, initialPickerState, pickerKey, selectedIds, visibleApplications} from '../picker-state.js';
import {useDiscovery} from '../hooks/use-discovery.js';
import {useKeys} from '../hooks/use-keys.js';
import {useTerminalSize} from '../hooks/use-terminal-size.js';
import {ErrorNotice} from './ErrorNotice.js';
import {Spinner} from './Spinner.js';

export interface PickerProps {
  /** Where the applications come from, e.g. `context kind-dev · namespace default`. */
  title: string;
  discover: () => Promise<DiscoveredApplication[]>;
  /** Checked when the list appears (the remembered or current selection); unknown names are ignored. */
  preselected: readonly string[];
  /** `start`: the first pick (esc quits). `change`: editing a running session (esc goes back). */
  mode: 'start' | 'change';
  onSubmit: (applications: string[]) => void;
  onCancel: () => void;
  /** ctrl-c; defaults to onCancel. */
  onInterrupt?: () => void;
}

/**
 * Keys: typing filters (a `/` first lets the filter start with `a` or `q`), ↑/↓ move, space toggles,
 * `a` (or ctrl-a while filtering) selects all/none of the visible rows, enter starts, esc clears the
 * filter or leaves, `q` leaves, `r` retries a failed discovery.
 */
export function Picker({title, discover, preselected, mode, onSubmit, onCancel, onInterrupt = onCancel}: PickerProps) {
  const [discovery, retry] = useDiscovery(discover);
  const [state, setState] = useState(() => initialPickerState(preselected));
  // The latest state for key handling; see picker-state.ts for why a ref and not the render's copy.
  const latest = useRef(state);
  const {columns, rows} = useTerminalSize();

  const applications = discovery.status === 'ready' ? discovery.applications : undefined;
  const current = useRef(discovery);
  current.current = discovery;

  useKeys((input, key) => {
    const found = current.current;
    const [next, effect] = pickerKey(latest.current, input, key, found.status === 'ready' ? found.applications : undefined, found.status === 'loading');
    if (next !== latest.current) {
      latest.current = next;
      setState(next);
    }
    switch (effect?.type) {
      case undefined:
        return;
      case 'submit':
        onSubmit(effect.applications);
        return;
      case 'cancel':
        onCancel();
        return;
      case 'interrupt':
        onInterrupt();
        return;
      case 'retry':
        retry();
        return;
    }
  });

  const {filter, filtering, notice} = state;
  const all = applications ?? [];
  const visible = useMemo(() => visibleApplications(all, filter), [all, filter]);
  const position = Math.min(state.cursor, Math.max(0, visible.length - 1));
  const known = new Set(all.flatMap((app) => [app.application, choiceId(app, all)]));
  const selected = selectedIds(state.selected, all);
  const chosen = all.filter((app) => selected.has(choiceId(app, all)));
  // Several places (--backend next to a cluster, several namespaces or contexts): a FROM column.
  const places = all.some((app) => app.where !== undefined);
  const clashing = new Set(all.filter((app) => choiceId(app, all) !== app.application).map((app) => app.application));

  const header = (
    <Text wrap="truncate-end">
      <Text bold>{mode === 'start' ? 'Pick applications to route' : 'Change routed applications'}</Text>
      <Text dimColor> · {title}</Text>
    </Text>
  );

  if (discovery.status === 'loading') {
    return (
      <Box flexDirection="column">
        {header}
        <Spinner label="discovering Dubbo applications…" />
        <Text dimColor>q {mode === 'start' ? 'quit' : 'back'}</Text>
      </Box>
    );
  }
  if (discovery.status === 'error') {
    return (
      <Box flexDirection="column">
        {header}
        <ErrorNotice error={discovery.error} title="Discovery failed" />
        <Text dimColor>r retry · q {mode === 'start' ? 'quit' : 'back'}</Text>
      </Box>
    );
  }
  if (all.length === 0) {
    return (
      <Box flexDirection="column">
        {header}
        <Text color="yellow">No Dubbo applications found ({title}).</Text>
        <Text>
          {'  fix: expose providers through an Ingress of the Dubbo IngressClass or a Service with a Dubbo port, '}
          {'or check the context and namespace you passed.'}
        </Text>
        <Text dimColor>r retry · q {mode === 'start' ? 'quit' : 'back'}</Text>
      </Box>
    );
  }

  const layout = layoutColumns(columns, [
    {key: 'mark', title: '', width: 5},
    {key: 'name', title: 'APPLICATION', flex: 3, min: 12},
    ...(places ? [{key: 'where', title: 'FROM', flex: 2, min: 6}] : []),
    {key: 'namespace', title: 'NAMESPACE', flex: 2, min: 9, drop: 2},
    {key: 'source', title: 'SOURCE', width: 7},
    {key: 'pods', title: 'READY', width: 7, align: 'right'},
    {key: 'port', title: 'PORT', width: 6, align: 'right', drop: 1},
  ]);
  const listHeight = Math.max(3, rows - 8);
  const first = Math.min(Math.max(0, position - listHeight + 1), Math.max(0, visible.length - listHeight));
  const page = visible.slice(first, first + listHeight);
  const missing = preselected.filter((name) => !known.has(name));
  const cellsOf = (app: DiscoveredApplication, index: number): Record<string, string> => ({
    // A clash shows each place as a choice of its own: `(•)` one of them, `[x]` a plain tick.
    mark: `${index === position ? '›' : ' '} ${clashing.has(app.application) ? (selected.has(choiceId(app, all)) ? '(•)' : '( )') : selected.has(app.application) ? '[x]' : '[ ]'}`,
    name: choiceId(app, all),
    where: app.where ?? '',
    namespace: app.namespace ?? '-',
    source: app.source,
    pods: app.readyPods === undefined ? '-' : String(app.readyPods),
    port: String(app.port),
  });
  const line = (cells: Record<string, string>): string =>
    layout.map((column) => fit(cells[column.key] ?? '', column.width, column.align)).join(' ');

  return (
    <Box flexDirection="column">
      {header}
      <Text wrap="truncate-end">
        {filtering || filter !== '' ? <Text color="cyan">filter: {filter}▏</Text> : <Text dimColor>type to filter</Text>}
        <Text dimColor> · {chosen.length} of {all.length} selected</Text>
        {visible.length === all.length ? null : <Text dimColor> · {visible.length} shown</Text>}
      </Text>
      <Text bold wrap="truncate-end">{line(Object.fromEntries(layout.map((column) => [column.key, column.title])))}</Text>
      {page.map((app, i) => {
        const index = first + i;
        const ready = app.readyPods;
        return (
          <Text key={choiceId(app, all)} wrap="truncate-end" inverse={index === position}
            color={ready === 0 ? 'yellow' : undefined} bold={selected.has(choiceId(app, all))}>
            {line(cellsOf(app, index))}
          </Text>
        );
      })}
      {visible.length === 0 ? <Text color="yellow">No application matches “{filter}”. esc clears the filter.</Text> : null}
      {missing.length > 0 ? <Text dimColor wrap="truncate-end">not found now: {missing.join(', ')}</Text> : null}
      {clashing.size > 0 ? <Text color="yellow" wrap="truncate-end">offered by several places: {[...clashing].join(', ')}; only one place per name can be routed (space picks it)</Text> : null}
      {notice === undefined ? null : <Text color="yellow">{notice}</Text>}
      <Text dimColor wrap="truncate-end">
        ↑↓ move · space toggle · {filtering ? 'ctrl-a' : 'a'} all/none · enter {mode === 'start' ? 'start' : 'apply'} · esc {filtering || filter !== '' ? 'clear filter' : mode === 'start' ? 'quit' : 'back'}
      </Text>
    </Box>
  );
}
