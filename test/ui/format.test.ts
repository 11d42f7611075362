// The dashboard's column layout and cell fitting, table-driven: which columns give way at which
// width, what flex columns get, and which part of a cut cell stays.
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {fitEnd, fitNamed, layoutColumns} from '../../src/ui/format.js';
import type {ColumnSpec} from '../../src/ui/format.js';

const SPECS = (want: {name: number; pod: number}): ColumnSpec[] => [
  {key: 'name', title: 'NAME', flex: 3, min: 10, want: want.name},
  {key: 'state', title: 'STATE', width: 7},
  {key: 'pod', title: 'POD', flex: 2, min: 12, drop: 3, want: want.pod},
  {key: 'n', title: 'N', width: 6},
  {key: 'last', title: 'LAST', width: 4, drop: 2, yields: true},
  {key: 'extra', title: 'EXTRA', width: 8, drop: 4, yields: true},
];

const layout = (total: number, want: {name: number; pod: number}) =>
  Object.fromEntries(layoutColumns(total, SPECS(want)).map((column) => [column.key, column.width]));

describe('layoutColumns', () => {
  const cases: {total: number; want: {name: number; pod: number}; widths: Record<string, number>; why: string}[] = [
    {total: 100, want: {name: 18, pod: 24}, widths: {name: 34, state: 7, pod: 36, n: 6, last: 4, extra: 8}, why: 'room for everything: wants first, the rest 3:2'},
    {total: 70, want: {name: 18, pod: 24}, widths: {name: 22, state: 7, pod: 27, n: 6, last: 4}, why: 'EXTRA yields, which is enough for both wants'},
    {total: 62, want: {name: 18, pod: 24}, widths: {name: 20, state: 7, pod: 26, n: 6}, why: 'LAST yields too'},
    {total: 60, want: {name: 40, pod: 40}, widths: {name: 18, state: 7, pod: 12, n: 6, last: 4, extra: 8}, why: 'wants out of reach: nothing yields, the first flex column gets the leftover first'},
    {total: 40, want: {name: 18, pod: 24}, widths: {name: 20, state: 7, n: 6, last: 4}, why: 'too narrow: dropped by drop order until the minimums fit'},
  ];
  for (const {total, want, widths, why} of cases) {
    it(`${total} columns, wants ${want.name}/${want.pod}: ${why}`, () => {
      const got = layout(total, want);
      assert.deepEqual(got, widths);
      const used = Object.values(got).reduce((sum, width) => sum + width, 0) + Object.keys(got).length - 1;
      assert.ok(used <= total, `${used} > ${total}`);
    });
  }
});

describe('fitNamed and fitEnd', () => {
  it('keeps the place when the name is cut', () => {
    assert.equal(fitNamed('user-rpc', 'staging', 20), 'user-rpc · staging  ');
    assert.equal(fitNamed('a-rather-long-application-name-rpc', 'staging', 20), 'a-rather-… · staging');
    assert.equal(fitNamed('user-rpc', undefined, 6), 'user-…');
    // Too narrow for a few letters of the name and the place: cut as one.
    assert.equal(fitNamed('user-rpc', 'staging', 12), 'user-rpc · …');
  });

  it('keeps the end of a pod name', () => {
    assert.equal(fitEnd('user-rpc-6d5f8c7b9-x2k4p', 14), '…5f8c7b9-x2k4p');
    assert.equal(fitEnd('pod-1', 8), 'pod-1   ');
    assert.equal(fitEnd('pod-1', 0), '');
  });
});
