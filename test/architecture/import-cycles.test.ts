// The import graph of src/: no cycles between files (type-only imports and dynamic import()
// included: a cycle of types is still two modules that cannot be understood one without the other),
// and no file that the CLI cannot reach (code only tests use belongs in test/support, not in dist/).
import assert from 'node:assert/strict';
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';
import {describe, test} from 'node:test';
import ts from 'typescript';

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, {withFileTypes: true}).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files of `files` that `file` imports (relative specifiers with .js extensions, as the conventions say). */
function importsOf(file: string, files: ReadonlySet<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets: string[] = [];
  for (const {fileName} of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName).replace(/\.js$/, '');
    const found = ['.ts', '.tsx'].map((extension) => relative(process.cwd(), base + extension)).find((candidate) => files.has(candidate));
    assert.ok(found !== undefined || existsSync(resolve(dirname(file), fileName)), `${file}: cannot resolve '${fileName}'`);
    if (found !== undefined) targets.push(found);
  }
  return targets;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('import graph of src/', () => {
  test('the cycle finder finds a cycle (so the next test can fail)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']], ['e', ['e']]]);
    assert.deepEqual(findCycles(graph), [['a', 'b', 'c'], ['e']]);
    assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', []]])), []);
  });

  const files = new Set(sourceFiles('src'));
  const graph = new Map([...files].map((file) => [file, importsOf(file, files)]));

  test('has no cycles between files', () => {
    assert.ok(files.size > 50, 'src/ was found');
    assert.deepEqual(findCycles(graph), [], 'import cycles (each list is one group of files that import each other)');
  });

  test('every file is reachable from the CLI (bin/dubbo-tunnel.js loads src/cli/main.ts)', () => {
    const reached = new Set<string>();
    const queue = [join('src', 'cli', 'main.ts')];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (reached.has(file)) continue;
      reached.add(file);
      queue.push(...(graph.get(file) ?? []));
    }
    assert.deepEqual([...files].filter((file) => !reached.has(file)).sort(), [], 'files of src/ that nothing the CLI runs imports (move test-only code to test/support)');
  });
});
