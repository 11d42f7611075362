// One writer of the route table (docs/architecture.md, "The session layer"): the tables a listener
// routes by are built only by the session's RoutePublisher. Building one takes createRouteTable and
// swapping it in takes a RouteSource (everything else sees a read-only RouteView), so no file of
// src/ but the publisher may import either of them from src/router/route-table.ts.
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';
import {describe, test} from 'node:test';
import ts from 'typescript';

const ROUTE_TABLE = join('src', 'router', 'route-table.ts');
const WRITING = new Set(['createRouteTable', 'RouteSource']);
const PUBLISHER = join('src', 'session', 'publisher.ts');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, {withFileTypes: true}).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function isRouteTable(file: string, specifier: string): boolean {
  return specifier.startsWith('.') && relative(process.cwd(), resolve(dirname(file), specifier)).replace(/\.js$/, '.ts') === ROUTE_TABLE;
}

/**
 * The names `file` takes from route-table.ts that write tables: imported, re-exported, or everything
 * (`*` for a namespace import, `export *` or a dynamic import()), type-only imports included.
 */
export function writingImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier) && isRouteTable(file, node.moduleSpecifier.text)) {
      if (ts.isImportDeclaration(node)) {
        const bindings = node.importClause?.namedBindings;
        if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push('*');
        else for (const element of bindings?.elements ?? []) names.push((element.propertyName ?? element.name).text);
      } else if (node.exportClause === undefined || !ts.isNamedExports(node.exportClause)) {
        names.push('*');
      } else {
        for (const element of node.exportClause.elements) names.push((element.propertyName ?? element.name).text);
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      if (specifier !== undefined && ts.isStringLiteral(specifier) && isRouteTable(file, specifier.text)) names.push('*');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names.filter((name) => name === '*' || WRITING.has(name));
}

/** file -> what it takes to write tables, for every file of `files` but route-table.ts itself. */
function writers(files: ReadonlyMap<string, string>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [file, text] of files) {
    if (file === ROUTE_TABLE) continue;
    const names = writingImports(file, text);
    if (names.length > 0) found.set(file, names);
  }
  return found;
}

describe('one writer of the route table', () => {
  test('the finder sees every way of taking a writing name (so the next test can fail)', () => {
    const probe = (file: string, text: string) => [...writers(new Map([[file, text]])).values()].flat();
    assert.deepEqual(probe('src/cli/probe.ts', "import {RouteSource} from '../router/route-table.js';"), ['RouteSource']);
    assert.deepEqual(probe('src/cli/commands/probe.ts', "import type {RouteSource as Writable, RouteView} from '../../router/route-table.js';"), ['RouteSource']);
    assert.deepEqual(probe('src/kube/probe.ts', "export {createRouteTable} from '../router/route-table.js';"), ['createRouteTable']);
    assert.deepEqual(probe('src/proxy/probe.ts', "import * as routes from '../router/route-table.js';"), ['*']);
    assert.deepEqual(probe('src/learning/probe.ts', "const {createRouteTable} = await import('../router/route-table.js');"), ['*']);
    // The read side and the doctor's empty view build nothing.
    assert.deepEqual(probe('src/proxy/probe.ts', "import type {RouteView, RouteTable} from '../router/route-table.js';\nimport {NO_ROUTES} from '../router/route-table.js';"), []);
    assert.deepEqual(probe('src/router/probe.ts', "import {RouteSource} from './route-table.js';"), ['RouteSource']);
  });

  test('only the session\'s publisher builds tables for the listener (createRouteTable, RouteSource)', () => {
    const files = new Map(sourceFiles('src').map((file) => [file, readFileSync(file, 'utf8')]));
    assert.ok(files.has(ROUTE_TABLE) && files.has(PUBLISHER), 'src/ was found');
    assert.deepEqual(Object.fromEntries(writers(files)), {[PUBLISHER]: ['RouteSource', 'createRouteTable']},
      'files of src/ other than src/session/publisher.ts that can build or swap in a route table (give the listener RoutePublisher.routes instead)');
  });
});
