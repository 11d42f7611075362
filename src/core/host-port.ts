/**
 * `host:port` as people and Java write it: IPv6 in brackets (`[::1]:20880`). One helper for the
 * listener, static backends, the built-in client and the doctor, so addresses read the same
 * everywhere.
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
