// The route table's one writer and what sources know they do not route (RouteTable.unrouted): each
// source's sentences are carried in source order, a change of them alone publishes a new table, and
// an unchanged report publishes nothing.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {RoutePublisher} from '../../src/session/publisher.js';

describe('RoutePublisher: what the sources do not route', () => {
  test('carried in source order; a change alone publishes a new table; the same report publishes nothing', () => {
    const publisher = new RoutePublisher({events: new TunnelEventBus(), kinds: ['local', 'cluster'], choice: 'all'});
    const tables: unknown[] = [];
    publisher.routes.subscribe((table) => tables.push(table));
    const user = {backend: new StaticBackend('user-rpc', '127.0.0.1', 1), where: undefined};
    publisher.report(0, [user]);
    assert.deepEqual(publisher.routes.current.unrouted, []);
    publisher.report(1, [], ['billing is withheld']);
    assert.deepEqual(publisher.routes.current.unrouted, ['billing is withheld']);
    assert.deepEqual([...publisher.routes.current.backends.keys()], ['user-rpc']);
    publisher.report(0, [user], ['a local note']);
    assert.deepEqual(publisher.routes.current.unrouted, ['a local note', 'billing is withheld']);
    const published = tables.length;
    publisher.report(1, [], ['billing is withheld']);
    assert.equal(tables.length, published, 'the same report again: no new table');
    publisher.report(1, []);
    assert.deepEqual(publisher.routes.current.unrouted, ['a local note']);
    assert.equal(tables.length, published + 1);
    publisher.close();
  });
});
