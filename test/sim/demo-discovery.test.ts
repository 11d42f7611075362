// The demo providers answer discovery like a 3.2 provider with a registry, so `npm run demo` learns.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {probeExports} from '../../src/learning/probe.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {DemoProvider} from '../../src/sim/demo-provider.js';

test('a demo provider tells its services through MetadataService.getMetadataInfos()', async () => {
  const provider = await DemoProvider.start({
    application: 'user-rpc', pod: 'user-rpc-1',
    services: [{interface: 'com.example.UserService', methods: {}}, {interface: 'com.example.AuditService', methods: {}}],
  });
  try {
    const result = await probeExports(new StaticBackend('user-rpc', '127.0.0.1', provider.port));
    assert.deepEqual(result, {keys: ['com.example.AuditService', 'com.example.UserService'], via: 'metadata-service', providerApplication: 'user-rpc', misses: []});
    // Under another name the status-70 list names it, as a 3.2 provider's does.
    const renamed = await probeExports(new StaticBackend('users', '127.0.0.1', provider.port));
    assert.equal(renamed.via, 'metadata-service');
    assert.equal(renamed.providerApplication, 'user-rpc');
  } finally {
    await provider.close();
  }
});
