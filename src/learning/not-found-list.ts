/**
 * The status-70 answer to a request for a service the provider does not export lists every service
 * key the provider JVM's dubbo protocol exports (DubboProtocol.getInvoker, 2.7 and 3.x):
 *
 *   Not found exported service: <key>:<port> in [<key>:<port>, ...], may be version or group mismatch , channel: ...
 *
 * Error text, not a contract: anything that does not look exactly like this yields undefined.
 */
import {isInternalService, normalizeServiceKey, parseServiceKey, METADATA_SERVICE} from '../router/service-key.js';

export interface NotFoundListing {
  /** Exported keys without the port, the provider's MetadataService left out. */
  readonly keys: string[];
  /** The application name, when the list holds a 3.x `<app>/org.apache.dubbo.metadata.MetadataService:1.0.0`. */
  readonly application: string | undefined;
}

const MARKER = 'Not found exported service: ';
/** Bounds the work on a hostile or huge text. */
const MAX_SCAN = 64 * 1024;

export function parseNotFoundListing(message: string): NotFoundListing | undefined {
  const text = message.length > MAX_SCAN ? message.slice(0, MAX_SCAN) : message;
  const at = text.indexOf(MARKER);
  if (at < 0) return undefined;
  const open = text.indexOf(' in [', at + MARKER.length);
  if (open < 0) return undefined;
  const close = text.indexOf(']', open);
  if (close < 0) return undefined;
  const inner = text.slice(open + ' in ['.length, close).trim();
  const keys: string[] = [];
  let application: string | undefined;
  if (inner === '') return {keys, application};
  for (const item of inner.split(',')) {
    const withPort = item.trim();
    // Each item ends with ':<port>' (ProtocolUtils.serviceKey(port, path, version, group)).
    const match = /^(.+):(\d{1,5})$/.exec(withPort);
    if (!match?.[1]) return undefined;
    const parts = parseServiceKey(match[1]);
    if (!parts) return undefined;
    const key = normalizeServiceKey(match[1]);
    if (key === undefined) return undefined;
    if (isInternalService(key)) {
      if (parts.interface === METADATA_SERVICE && parts.group !== undefined) application = parts.group;
      continue;
    }
    if (!keys.includes(key)) keys.push(key);
  }
  return {keys, application};
}
