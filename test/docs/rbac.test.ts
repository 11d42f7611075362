// The permissions the README and docs/kubernetes.md ask for are the requests `up` makes, as the
// doctor's access reviews check them (requiredAccess): nothing missing, nothing more.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import {requiredAccess} from '../../src/doctor/checks.js';

/** `list services` … for every request up makes in a namespace (--source auto). */
function required(): string[] {
  return requiredAccess('auto', 'dev').map((row) => `${row.verb} ${row.resource}${row.subresource === undefined ? '' : `/${row.subresource}`}`).sort();
}

test('the README names exactly the rights up needs', () => {
  const line = /`up` needs (.*?)\(the Role/s.exec(readFileSync('README.md', 'utf8'))?.[1]?.replace(/\s+/g, ' ');
  assert.ok(line, 'the README has its "`up` needs ..." line');
  const named: string[] = [];
  for (const [, verbs, resources] of line.matchAll(/`([\w+/]+)` on ((?:`[\w/]+`(?:, | and )?)+)/g)) {
    for (const verb of (verbs ?? '').split(/[+/]/)) {
      for (const [, resource] of (resources ?? '').matchAll(/`([\w/]+)`/g)) named.push(`${verb} ${resource ?? ''}`);
    }
  }
  assert.deepEqual(named.sort(), required());
});

test('the Role in docs/kubernetes.md grants exactly the rights up needs', () => {
  const yaml = /kind: Role\n[\s\S]*?rules:\n([\s\S]*?)\n---/.exec(readFileSync('docs/kubernetes.md', 'utf8'))?.[1] ?? '';
  const granted: string[] = [];
  for (const [, resources, verbs] of yaml.matchAll(/resources: \[(.*?)\]\n\s*verbs: \[(.*?)\]/g)) {
    for (const resource of (resources ?? '').split(',')) {
      for (const verb of (verbs ?? '').split(',')) granted.push(`${verb.trim().replace(/"/g, '')} ${resource.trim().replace(/"/g, '')}`);
    }
  }
  assert.deepEqual(granted.sort(), required());
});
