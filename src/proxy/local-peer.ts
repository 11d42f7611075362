import os from 'node:os';
import net from 'node:net';

/**
 * Which peers may connect. Stock Java Dubbo consumers rewrite `127.0.0.1`/`localhost` in a direct
 * URL to the host's first non-loopback address before connecting (NetUtils.filterLocalHost in
 * AbstractClient.getConnectAddress), so a consumer on this machine often arrives from the LAN
 * address, not from loopback. A peer is local when its address is loopback or one of this
 * machine's own interface addresses; everyone else is refused unless --allow-remote.
 */
export function normalizeAddress(address: string): string {
  // IPv4-mapped IPv6 (::ffff:192.168.1.5) is how an IPv4 peer shows up on a dual-stack socket.
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7))) return lower.slice(7);
  const zone = lower.indexOf('%');
  return zone === -1 ? lower : lower.slice(0, zone);
}

export function isLoopback(address: string): boolean {
  const normalized = normalizeAddress(address);
  return normalized.startsWith('127.') || normalized === '::1';
}

/** This machine's interface addresses, normalized. */
export function machineAddresses(interfaces = os.networkInterfaces()): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) addresses.add(normalizeAddress(info.address));
  }
  return addresses;
}

export function isLocalPeer(remoteAddress: string | undefined, local: ReadonlySet<string>): boolean {
  if (remoteAddress === undefined) return false;
  const normalized = normalizeAddress(remoteAddress);
  return isLoopback(normalized) || local.has(normalized);
}

/**
 * Caches the interface list briefly: a burst of connections should not each walk the interfaces,
 * but a laptop that changes network (DHCP, VPN) must be recognised within seconds.
 */
export class LocalPeerPolicy {
  readonly #read: () => Set<string>;
  readonly #ttlMs: number;
  #cached: Set<string> | undefined;
  #readAt = 0;
  #missReadAt = Number.NEGATIVE_INFINITY;

  constructor(read: () => Set<string> = () => machineAddresses(), ttlMs = 5000) {
    this.#read = read;
    this.#ttlMs = ttlMs;
  }

  allows(remoteAddress: string | undefined): boolean {
    if (remoteAddress !== undefined && isLoopback(remoteAddress)) return true;
    const now = Date.now();
    if (!this.#cached || now - this.#readAt > this.#ttlMs) {
      this.#cached = this.#read();
      this.#readAt = now;
    }
    if (isLocalPeer(remoteAddress, this.#cached)) return true;
    // The peer may be on an address that appeared since the cache was filled: look once more,
    // but at most once a second so refused remote peers cannot make us walk interfaces per SYN.
    if (now - this.#missReadAt < 1000) return false;
    this.#missReadAt = now;
    this.#cached = this.#read();
    this.#readAt = now;
    return isLocalPeer(remoteAddress, this.#cached);
  }
}

/** Non-loopback IPv4 addresses first (what a Java consumer will use), for display and `doctor`. */
export function consumerFacingAddresses(interfaces = os.networkInterfaces()): string[] {
  const result: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (!info.internal && info.family === 'IPv4') result.push(info.address);
    }
  }
  return result;
}
