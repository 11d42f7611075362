import {readFileSync} from 'node:fs';

/** The package version, put in by the bundler (scripts/build.mjs); undefined when running the TypeScript sources. */
declare const DUBBO_TUNNEL_VERSION: string | undefined;

/** `0.1.0`: what `--version` prints and a team gateway's hello names (`dubbo-tunnel/<version>`). */
export function packageVersion(): string {
  if (typeof DUBBO_TUNNEL_VERSION === 'string') return DUBBO_TUNNEL_VERSION;
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as {version: string}).version;
}
