/**
 * Dubbo service keys, `[group/]interface[:version]`, as providers list them (BaseServiceMetadata.buildServiceKey)
 * and as a request names its target (path, service version, `group` attachment). Pure.
 */

/**
 * The interface every 3.x provider exports for application-level discovery (a 3.x consumer's first call to a
 * provider); its group is the provider's application name. Never a routing target of its own.
 */
export const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';

export interface ServiceKeyParts {
  readonly group: string | undefined;
  readonly interface: string;
  readonly version: string | undefined;
}

/**
 * `[group/]interface[:version]`. An empty version and `0.0.0` (what a consumer sends when the reference has
 * no version; ProtocolUtils.serviceKey treats it as none) both mean "no version".
 */
export function serviceKey(group: string | undefined, iface: string, version: string | undefined): string {
  const g = group === undefined || group === '' ? '' : `${group}/`;
  const v = version === undefined || version === '' || version === '0.0.0' ? '' : `:${version}`;
  return `${g}${iface}${v}`;
}

/** Splits a key; the interface is what remains once a `group/` prefix and a `:version` suffix are taken off. */
export function parseServiceKey(key: string): ServiceKeyParts | undefined {
  const trimmed = key.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return undefined;
  const slash = trimmed.indexOf('/');
  const group = slash > 0 ? trimmed.slice(0, slash) : undefined;
  const rest = slash > 0 ? trimmed.slice(slash + 1) : trimmed;
  const colon = rest.indexOf(':');
  const iface = colon >= 0 ? rest.slice(0, colon) : rest;
  const version = colon >= 0 ? rest.slice(colon + 1) : undefined;
  if (!isInterfaceName(iface)) return undefined;
  return {group, interface: iface, version: version === '' ? undefined : version};
}

/** A Java binary class name (letters, digits, `_`, `$`, dots between parts). */
export function isInterfaceName(name: string): boolean {
  return /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(name);
}

/** The normal form of a key (`0.0.0` dropped), or undefined when it is not a key. */
export function normalizeServiceKey(key: string): string | undefined {
  const parts = parseServiceKey(key);
  return parts && serviceKey(parts.group, parts.interface, parts.version);
}

export function interfaceOf(key: string): string {
  return parseServiceKey(key)?.interface ?? key;
}

/** True for the provider's own MetadataService (any group): learned, but not a service to route or list. */
export function isInternalService(key: string): boolean {
  return interfaceOf(key) === METADATA_SERVICE;
}
