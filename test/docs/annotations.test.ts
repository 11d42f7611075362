// Every annotation discovery reads is documented in docs/kubernetes.md, each under its own heading.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import * as discovery from '../../src/kube/discovery.js';

test('docs/kubernetes.md has a section for each dubbo-tunnel.io annotation discovery reads', () => {
  const doc = readFileSync('docs/kubernetes.md', 'utf8');
  const annotations = Object.entries(discovery)
    .filter(([name, value]) => name.endsWith('_ANNOTATION') && typeof value === 'string' && value.startsWith('dubbo-tunnel.io/'))
    .map(([, value]) => value as string);
  assert.ok(annotations.includes('dubbo-tunnel.io/interfaces'), annotations.join(', '));
  const missing = annotations.filter((annotation) => !new RegExp(`^#{2,4} .*\`${annotation.replace(/[./]/g, '\\$&')}\``, 'm').test(doc));
  assert.deepEqual(missing, []);
});
