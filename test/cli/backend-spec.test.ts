import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {parseUpOptions} from '../../src/cli/commands/up.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {StaticBackend, parseBackendSpec} from '../../src/proxy/static-backend.js';

describe('--backend with Dubbo and Triple ports', () => {
  test('plain host:port and dubbo:// are the Dubbo port, tri:// the Triple port', () => {
    assert.deepEqual(parseBackendSpec('user-rpc=127.0.0.1:20881'), {application: 'user-rpc', host: '127.0.0.1', port: 20881, protocol: 'dubbo'});
    assert.deepEqual(parseBackendSpec('user-rpc=dubbo://127.0.0.1:20881'), {application: 'user-rpc', host: '127.0.0.1', port: 20881, protocol: 'dubbo'});
    assert.deepEqual(parseBackendSpec('user-rpc=tri://[::1]:50051'), {application: 'user-rpc', host: '::1', port: 50051, protocol: 'triple'});
    assert.equal(parseBackendSpec('user-rpc=grpc://127.0.0.1:50051'), undefined);
  });

  test('one application may be given both; the same port twice is an error', () => {
    const options = parseUpOptions(['--backend', 'user-rpc=127.0.0.1:20881', '--backend', 'user-rpc=tri://127.0.0.1:50051', '--backend', 'pay-rpc=tri://127.0.0.1:50052', '--no-ui'], {});
    assert.deepEqual(options.backends, [
      {application: 'user-rpc', dubbo: {host: '127.0.0.1', port: 20881}, triple: {host: '127.0.0.1', port: 50051}},
      {application: 'pay-rpc', triple: {host: '127.0.0.1', port: 50052}},
    ]);
    assert.throws(() => parseUpOptions(['--backend', 'a=tri://127.0.0.1:1', '--backend', 'a=tri://127.0.0.1:2'], {}), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_BAD_ARGUMENT');
      assert.equal(error.message, "--backend names the Triple port of 'a' twice");
      return true;
    });
  });

  test('an application with only a Triple port answers dubbo:// callers with what it is', async () => {
    const backend = StaticBackend.tripleOnly('pay-rpc', {host: '127.0.0.1', port: 50052});
    assert.equal(backend.describe(), 'tri://127.0.0.1:50052');
    await assert.rejects(backend.connect(), /^BackendError: pay-rpc has only a Triple port \(tri:\/\/127\.0\.0\.1:50052\), no dubbo:\/\/ port$/);
  });
});
