import {lookup} from 'node:dns/promises';
import os from 'node:os';
import {LocalPeerPolicy, consumerFacingAddresses, isLoopback, machineAddresses, normalizeAddress} from '../proxy/local-peer.js';

/** What the consumer-address check looks at; read from this machine, or given by a test. */
export interface NetworkFacts {
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  hostname: string;
  /** The IPv4 address the host name resolves to (Java's InetAddress.getLocalHost()); undefined if none. */
  hostnameAddress: string | undefined;
}

export async function readNetworkFacts(timeoutMs = 2000): Promise<NetworkFacts> {
  const hostname = os.hostname();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const resolved = lookup(hostname, {family: 4}).then((answer) => answer.address, () => undefined);
  const hostnameAddress = await Promise.race([resolved, timeout]);
  clearTimeout(timer);
  return {interfaces: os.networkInterfaces(), hostname, hostnameAddress};
}

export interface AddressVerdict {
  status: 'ok' | 'warn' | 'fail';
  /** Catalogue problem id when not ok. */
  problem?: 'host-excludes' | 'hostname-elsewhere' | 'other-address';
  summary: string;
  details: string[];
  fix?: string;
  /** The address a Java consumer told localhost connects to. */
  javaAddress: string;
}

/** True when a listener started with `host` (undefined = all addresses, as `up` does) takes connections to `address`. */
function listenerCovers(host: string | undefined, address: string): boolean {
  if (host === undefined || host === '::' || host === '0.0.0.0') return true;
  if (host === 'localhost') return isLoopback(address);
  return normalizeAddress(host) === address;
}

/**
 * Where a Java consumer told `localhost` connects, and whether the listener accepts it there.
 * Dubbo's NetUtils.getLocalAddress takes InetAddress.getLocalHost() when it is a valid address (not
 * loopback, not 0.0.0.0), else the first valid address of the network interfaces, in Java's order,
 * which need not be Node's: so every non-loopback IPv4 address of this machine is checked too.
 * A connection to one of our own addresses comes from that same address, so the local-peer rule is
 * asked about the address itself.
 */
export function judgeConsumerAddress(facts: NetworkFacts, listener: {host?: string | undefined; allowRemote?: boolean}): AddressVerdict {
  const lan = consumerFacingAddresses(facts.interfaces);
  const own = machineAddresses(facts.interfaces);
  const policy = new LocalPeerPolicy(() => own, 0);
  const accepts = (address: string) => listenerCovers(listener.host, address) && (listener.allowRemote === true || policy.allows(address));
  const resolved = facts.hostnameAddress;
  const hostnameCounts = resolved !== undefined && !isLoopback(resolved) && resolved !== '0.0.0.0';
  const javaAddress = hostnameCounts ? resolved : (lan[0] ?? '127.0.0.1');
  const why = hostnameCounts
    ? `the host name ${facts.hostname} resolves to it (InetAddress.getLocalHost)`
    : lan[0] !== undefined
      ? `the host name ${facts.hostname} ${resolved === undefined ? 'does not resolve' : `resolves to ${resolved} (loopback)`}, so Dubbo takes the first LAN address`
      : 'this machine has no LAN address, so Dubbo keeps 127.0.0.1';
  const interfaceOf = (address: string) => Object.entries(facts.interfaces).find(([, infos]) => infos?.some((info) => normalizeAddress(info.address) === address))?.[0];
  const details = [`why: ${why}`, ...[...new Set([javaAddress, ...lan])].map((address) => {
    const name = interfaceOf(address);
    return `${address}${name === undefined ? '' : ` (${name})`}: ${accepts(address) ? 'accepted' : 'NOT accepted'}${address === javaAddress ? ' <- Java consumers told localhost' : ''}`;
  })];
  const listenerText = listener.host === undefined ? 'the listener (all addresses, local peers only)' : `the listener on --host ${listener.host}`;

  if (hostnameCounts && !own.has(javaAddress)) {
    return {
      status: 'fail', problem: 'hostname-elsewhere', javaAddress, details,
      summary: `the host name ${facts.hostname} resolves to ${javaAddress}, which is not an address of this machine: Java consumers told localhost connect there`,
      fix: `fix the entry for ${facts.hostname} in /etc/hosts (or DNS) so it names this machine, then restart the consumer`,
    };
  }
  if (!accepts(javaAddress)) {
    return {
      status: 'fail', problem: 'host-excludes', javaAddress, details,
      summary: `Java consumers told localhost connect to ${javaAddress}, but ${listenerText} does not accept connections there`,
      fix: `leave --host out (dubbo-tunnel then listens on all of this machine's addresses and still refuses other machines), or give consumers dubbo://${javaAddress}:<port> instead of localhost`,
    };
  }
  const others = lan.filter((address) => address !== javaAddress && !accepts(address));
  if (others.length > 0) {
    return {
      status: 'warn', problem: 'other-address', javaAddress, details,
      summary: `Java consumers told localhost connect to ${javaAddress}: accepted, but ${others.join(', ')} would not be`,
      fix: 'Java may pick any of this machine\'s LAN addresses; leave --host out so all of them are accepted',
    };
  }
  return {status: 'ok', javaAddress, details, summary: `Java consumers told localhost connect to ${javaAddress}; ${listenerText} accepts it`};
}
