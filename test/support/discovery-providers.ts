// Providers for discovery tests that answer discovery calls with the byte-exact captures of real Dubbo
// 2.7.23 / 3.2.16 providers (../shared/fixtures/dubbo-discovery), and ordinary calls like any provider.
// Imports only ./dubbo-wire.ts and the fixtures, never src/.
import net from 'node:net';
import {decodeRequest, encodeResponse, WireReader} from './dubbo-wire.js';
import {fixture} from './discovery-fixtures.js';

const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';

/**
 * - `32-zk`: 3.2 with a registry (MetadataService answers), `32-noreg`: 3.2 without (empty metadata; QoS works);
 * - `27-telnet`: 2.7 with `telnet=ls,...`, `27`: 2.7 defaults (telnet ls disabled, no QoS without a registry);
 * - `silent`: accepts connections, never answers anything.
 */
export type ProviderProfile = '32-zk' | '32-noreg' | '27-telnet' | '27' | 'silent';
/** `user` exports demo.UserService, `pay` exports g1/demo.PayService:1.0.0 (as in the captures). */
export type ProviderKind = 'user' | 'pay';

export interface DiscoveryProvider {
  readonly port: number;
  /** The QoS HTTP port (profiles 32-*), or undefined. */
  readonly qosPort: number | undefined;
  /** Ordinary (non-discovery) calls received: `<service>#<method>`. */
  readonly calls: string[];
  /** Discovery exchanges seen: `metadata:<method>:<group|->`, `telnet:<line>`, `qos`. */
  readonly discovery: string[];
  close(): Promise<void>;
}

function withId(frame: Buffer, id: bigint): Buffer {
  const copy = Buffer.from(frame);
  copy.writeBigInt64BE(BigInt.asIntN(64, id), 4);
  return copy;
}

function metadataAnswer(profile: ProviderProfile, kind: ProviderKind, method: string, requested: string | undefined): Buffer | undefined {
  const p = kind === 'user' ? 'user' : 'pay-g1v1';
  // The MetadataService's group is the provider's own application name; any other group is not exported.
  const group = requested === (kind === 'user' ? 'user-rpc' : 'pay-rpc') ? requested : undefined;
  switch (profile) {
    case '32-zk':
      if (group === undefined) return fixture(`32-metadata-${p}-zk-nogroup-01-serviceName.resp.bin`);
      if (method === 'getMetadataInfos') return fixture(`32-metadata-${p}-zk-10-getMetadataInfos.resp.bin`);
      if (method === 'getExportedURLs') return fixture(`32-metadata-${p}-zk-05-getExportedURLs.resp.bin`);
      return fixture(`32-metadata-${p}-zk-01-serviceName.resp.bin`);
    case '32-noreg':
      // Only user-rpc was captured without a registry.
      if (group === undefined) return fixture('32-metadata-user-noreg-nogroup-01-serviceName.resp.bin');
      if (method === 'getMetadataInfos') return fixture('32-metadata-user-noreg-10-getMetadataInfos.resp.bin');
      return fixture('32-metadata-user-noreg-01-serviceName.resp.bin');
    case '27-telnet':
    case '27':
      return fixture(kind === 'user' ? '27-metadata-user-noreg-08-getMetadataInfos.resp.bin' : '27-metadata-pay-g1v1-zk-nogroup-01-serviceName.resp.bin');
    case 'silent':
      return undefined;
  }
}

function telnetAnswer(profile: ProviderProfile, kind: ProviderKind, line: string): Buffer {
  const p = kind === 'user' ? 'user' : 'pay-g1v1';
  if (!line.startsWith('ls')) return fixture('27-dubboport-telnet-user-cmds-off-unknown.s2c.bin');
  if (profile === '27-telnet') return fixture(`27-dubboport-telnet-${p}-cmds-on-ls-l.s2c.bin`);
  if (profile === '27') return fixture('27-dubboport-telnet-user-cmds-off-ls-l.s2c.bin');
  return fixture('32-dubboport-telnet-user-cmds-off-ls-l.s2c.bin');
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

export async function startDiscoveryProvider(application: string, kind: ProviderKind, profile: ProviderProfile): Promise<DiscoveryProvider> {
  const calls: string[] = [];
  const discovery: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (profile === 'silent') return;
    let mode: 'unknown' | 'dubbo' | 'telnet' = 'unknown';
    const reader = new WireReader();
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      if (mode === 'unknown') mode = chunk[0] === 0xda ? 'dubbo' : 'telnet';
      if (mode === 'telnet') {
        text += chunk.toString('latin1');
        let end: number;
        while ((end = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, end).trim();
          text = text.slice(end + 1);
          discovery.push(`telnet:${line}`);
          socket.write(telnetAnswer(profile, kind, line));
        }
        return;
      }
      for (const frame of reader.push(chunk)) {
        if (!frame.isRequest || frame.event) continue;
        const request = decodeRequest(frame);
        if (request.service === METADATA_SERVICE) {
          const group = typeof request.attachments['group'] === 'string' ? request.attachments['group'] : undefined;
          discovery.push(`metadata:${request.method}:${group ?? '-'}`);
          const answer = metadataAnswer(profile, kind, request.method, group);
          if (answer) socket.write(withId(answer, request.id));
          continue;
        }
        calls.push(`${request.service}#${request.method}`);
        socket.write(encodeResponse({id: request.id, result: {kind: 'value', value: `${application}:${request.method}`}, attachments: {dubbo: '2.0.2'}}));
      }
    });
  });
  const port = await listen(server);

  let qosServer: net.Server | undefined;
  let qosPort: number | undefined;
  if (profile === '32-zk' || profile === '32-noreg') {
    const answer = kind === 'user' || profile === '32-noreg'
      ? fixture(profile === '32-zk' ? '32-qos-http-user-zk-ls.s2c.bin' : '32-qos-http-user-noreg-ls.s2c.bin')
      : fixture('32-qos-http-pay-g1v1-zk-ls.s2c.bin');
    qosServer = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        discovery.push(`qos:${head.split('\r\n', 1)[0] ?? ''}`);
        socket.end(answer);
      });
    });
    qosPort = await listen(qosServer);
  }

  return {
    port,
    qosPort,
    calls,
    discovery,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([server, qosServer].filter((s): s is net.Server => s !== undefined).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
