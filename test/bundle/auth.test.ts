// The bundled CLI (dist/, what the package ships) and the single executable (dist-bin/, when
// `npm run build:binary` made it) against the fake API server with every kind of credential a
// kubeconfig can hold that client-node handles without a cloud: a bearer token, a client
// certificate, an exec plugin and an OIDC id-token. Bundling can drop or break exactly these
// paths (tree-shaking, CommonJS interop, the executable's module loading), so they run from the
// bundle here and not only from the TypeScript sources (test/kube/).
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {TLSSocket} from 'node:tls';
import {after, before, describe, it} from 'node:test';
import {BIN, cleanEnv, ensureBuilt, runProgram, SEA_BINARY} from '../support/binary.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

interface Program {
  name: string;
  argv: (args: string[]) => string[];
}

const programs: Program[] = [{name: 'bundle (node bin/dubbo-tunnel.js)', argv: (args) => [process.execPath, BIN, ...args]}];
if (existsSync(SEA_BINARY)) programs.push({name: 'single executable (dist-bin)', argv: (args) => [SEA_BINARY, ...args]});
else console.log(`# ${SEA_BINARY} is not built (npm run build:binary): only the bundle is checked`);

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A CA, a server certificate for 127.0.0.1 and a client certificate for `user`, made by the openssl CLI. */
function certificates(dir: string, user: string): {ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string} {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    const result = spawnSync('openssl', args, {cwd: dir, encoding: 'utf8'});
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=dubbo-tunnel-test-ca', '-days', '2');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', ...key, '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${user}/O=dubbo-tunnel-test`);
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext');
  const read = (name: string): string => readFileSync(file(name), 'utf8');
  return {ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), clientCert: read('client.crt'), clientKey: read('client.key')};
}

/**
 * An HTTPS front for the fake API server that authenticates by client certificate, as an API
 * server does (the certificate's CN is the user): requests with a certificate the CA signed are
 * passed on with that user's bearer token; others get 401.
 */
async function startCertificateFront(api: FakeKubeApi, tls: ReturnType<typeof certificates>, tokens: Record<string, string>): Promise<{url: string; close(): Promise<void>}> {
  const upstream = new URL(api.url);
  const server = https.createServer({cert: tls.serverCert, key: tls.serverKey, ca: tls.ca, requestCert: true, rejectUnauthorized: false}, (req, res) => {
    const socket = req.socket as TLSSocket;
    const commonName = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const token = typeof commonName === 'string' ? tokens[commonName] : undefined;
    if (token === undefined) {
      res.writeHead(401, {'content-type': 'application/json'});
      res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401}));
      return;
    }
    const headers = {...req.headers, host: upstream.host, authorization: `Bearer ${token}`};
    const forward = http.request({host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A kubeconfig with one context whose user entry is `user` (JSON is YAML). */
function kubeconfig(dir: string, name: string, server: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': name,
    clusters: [{name, cluster: {server, ...cluster}}],
    users: [{name, user}],
    contexts: [{name, context: {cluster: name, user: name, namespace: 'default'}}],
  }, null, 2), {mode: 0o600});
  return file;
}

/** An unsigned JWT that client-node's OIDC authenticator accepts as an unexpired id-token (it only reads exp). */
function idToken(subject: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({alg: 'RS256', typ: 'JWT'})}.${part({iss: 'https://issuer.invalid', sub: subject, aud: 'dubbo-tunnel', exp: Math.floor(Date.now() / 1000) + 3600})}.c2lnbmF0dXJl`;
}

describe('the bundle authenticates with every kubeconfig credential (ls against the fake API server)', () => {
  let api: FakeKubeApi;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    ensureBuilt();
    api = await FakeKubeApi.start();
    api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
    dir = mkdtempSync(path.join(tmpdir(), 'dt-bundle-auth-'));
    env = cleanEnv({HOME: dir, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config')});
  });
  after(async () => {
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  /** Runs `ls` with `file` as the program, and checks it listed user-rpc and that the API server saw `user`. */
  async function listsAs(program: Program, file: string, user: string): Promise<void> {
    const before = api.requests.length;
    const result = await runProgram(program.argv(['ls', '--kubeconfig', file]), env);
    assert.equal(result.code, 0, `${program.name}: ${result.stderr}`);
    assert.match(result.stdout, /^user-rpc\s+default\s+user-rpc\s+dubbo:20880\s+service\s+1$/m, program.name);
    const seen = api.requests.slice(before).filter((request) => request.path.includes('/services'));
    assert.ok(seen.length > 0 && seen.every((request) => request.user === user), `${program.name}: requests made as ${seen.map((request) => request.user).join(', ')}`);
  }

  for (const program of programs) {
    it(`${program.name}: bearer token`, async () => {
      await listsAs(program, api.writeKubeconfig(dir, {fileName: 'token.yaml'}), 'admin');
    });

    it(`${program.name}: exec credential plugin`, async () => {
      api.addUser('exec-token', 'exec-user');
      const plugin = path.join(dir, 'plugin.mjs');
      writeFileSync(plugin, `process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: 'exec-token'}}));\n`);
      const file = api.writeKubeconfig(dir, {fileName: 'exec.yaml', exec: {command: process.execPath, args: [plugin]}});
      await listsAs(program, file, 'exec-user');
    });

    it(`${program.name}: OIDC auth provider with an unexpired id-token`, async () => {
      const token = idToken('oidc-user');
      api.addUser(token, 'oidc-user');
      const file = kubeconfig(dir, 'oidc', api.url, {'insecure-skip-tls-verify': true}, {
        'auth-provider': {name: 'oidc', config: {'client-id': 'dubbo-tunnel', 'idp-issuer-url': 'https://issuer.invalid', 'id-token': token}},
      });
      await listsAs(program, file, 'oidc-user');
    });

    it(`${program.name}: client certificate over TLS with the cluster's CA`, {skip: hasOpenssl ? false : 'needs the openssl command (Debian: apt-get install -y openssl)'}, async () => {
      const tls = certificates(mkdtempSync(path.join(dir, 'tls-')), 'cert-user');
      api.addUser('cert-user-token', 'cert-user');
      const front = await startCertificateFront(api, tls, {'cert-user': 'cert-user-token'});
      try {
        const file = kubeconfig(dir, 'cert', front.url, {'certificate-authority-data': Buffer.from(tls.ca).toString('base64')}, {
          'client-certificate-data': Buffer.from(tls.clientCert).toString('base64'),
          'client-key-data': Buffer.from(tls.clientKey).toString('base64'),
        });
        await listsAs(program, file, 'cert-user');
        // Without the certificate the same server refuses: the certificate is what authenticated.
        const anonymous = kubeconfig(dir, 'no-cert', front.url, {'certificate-authority-data': Buffer.from(tls.ca).toString('base64')}, {});
        const refused = await runProgram(program.argv(['ls', '--kubeconfig', anonymous]), env);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /401|nauthorized|credentials/);
      } finally {
        await front.close();
      }
    });
  }
});
