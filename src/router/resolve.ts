import type {Backend} from '../core/backend.js';
import {describeTarget} from '../protocol/header.js';
import {METADATA_SERVICE, serviceKey} from './service-key.js';
import type {RouteTable} from './route-table.js';

/** What the router knows about a request when choosing a backend. */
export interface RoutingInput {
  service: string | undefined;
  method: string | undefined;
  /** Attachments, or undefined when they could not be read (e.g. a fastjson2 body). */
  attachments: ReadonlyMap<string, unknown> | undefined;
  /** Set when the attachments could not be read; names the serialization for the error message. */
  unreadableBecause?: string;
  /**
   * The service key's group and version (Triple's tri-service-group/-version headers; a Dubbo request's body
   * version). `0.0.0` means no version; without `group` the request's `group` attachment is used.
   */
  group?: string | undefined;
  version?: string | undefined;
}

export type RouteDecision =
  | {ok: true; backend: Backend; via: 'attachment' | 'metadata-group' | 'interface-map' | 'service-key' | 'interface' | 'single-backend'}
  /** `message` says why and what to do; dubbo-tunnel's answer prefixes it with the code (local-answer.ts). */
  | {ok: false; code: 'DT_ERR_NO_ROUTE' | 'DT_ERR_UNSUPPORTED_SERIALIZATION' | 'DT_ERR_AMBIGUOUS_SERVICE'; message: string};

/**
 * Routing order: (a) the target-application attachment, (b) the `group` of a MetadataService call,
 * (c) the configured interface -> application map (--route), (d) the learned service key
 * `[group/]interface[:version]`, (e) the learned interface when one application exports it, (f) the only
 * backend. Pure: no sockets. Steps d/e cost one map lookup when the key is known.
 */
export function resolveRoute(table: RouteTable, input: RoutingInput, attachmentKey: string): RouteDecision {
  // Only an answer that is not a route builds the strings of its message.

  const named = stringAttachment(input.attachments, attachmentKey);
  if (named !== undefined) {
    const backend = table.backends.get(named);
    if (backend) return {ok: true, backend, via: 'attachment'};
    return {
      ok: false,
      code: 'DT_ERR_NO_ROUTE',
      message: `no route for ${describeTarget(input.service, input.method)}: attachment '${attachmentKey}' is '${named}', which is not a routed application; known applications: ${knownList(table)}`,
    };
  }

  if (input.service === METADATA_SERVICE) {
    // Dubbo sends the group as an attachment, Triple as the tri-service-group header (input.group).
    const group = input.group ?? stringAttachment(input.attachments, 'group');
    const backend = group === undefined ? undefined : table.backends.get(group);
    if (backend) return {ok: true, backend, via: 'metadata-group'};
  }

  if (input.service !== undefined) {
    const application = table.interfaces.get(input.service);
    if (application !== undefined) {
      const backend = table.backends.get(application);
      if (backend) return {ok: true, backend, via: 'interface-map'};
      return {
        ok: false,
        code: 'DT_ERR_NO_ROUTE',
        message: `no route for ${describeTarget(input.service, input.method)}: the interface map sends it to '${application}', which is not a routed application; known applications: ${knownList(table)}`,
      };
    }
  }

  if (input.service !== undefined && table.services.size > 0) {
    // A Dubbo request carries its group as an attachment; read only when it is needed.
    const key = serviceKey(input.group ?? stringAttachment(input.attachments, 'group'), input.service, input.version);
    let via: 'service-key' | 'interface' = 'service-key';
    let exporters = table.services.get(key);
    if (exporters === undefined) {
      exporters = table.servicesByInterface.get(input.service);
      via = 'interface';
    }
    if (exporters !== undefined) {
      if (exporters.length === 1) {
        const backend = table.backends.get(exporters[0] ?? '');
        if (backend) return {ok: true, backend, via};
      } else {
        const which = via === 'service-key' ? `service ${key}` : `interface ${input.service}`;
        return {
          ok: false,
          code: 'DT_ERR_AMBIGUOUS_SERVICE',
          message: `no route for ${describeTarget(input.service, input.method)}: ${which} is exported by ${exporters.length} routed applications (${exporters.join(', ')}); choose one with the '${attachmentKey}' attachment or with --route ${input.service}=<application>`,
        };
      }
    }
  }

  if (table.backends.size === 1) {
    const [backend] = table.backends.values();
    if (backend) return {ok: true, backend, via: 'single-backend'};
  }

  if (input.unreadableBecause !== undefined) {
    return {
      ok: false,
      code: 'DT_ERR_UNSUPPORTED_SERIALIZATION',
      message: `no route for ${describeTarget(input.service, input.method)}: ${input.unreadableBecause}; add serialization=hessian2 to the consumer's reference URL (dubbo://localhost:20880?serialization=hessian2) or map the interface with --route ${input.service ?? '<interface>'}=<application>; known applications: ${knownList(table)}`,
    };
  }
  return {
    ok: false,
    code: 'DT_ERR_NO_ROUTE',
    message: `no route for ${describeTarget(input.service, input.method)}: attachment '${attachmentKey}' missing; known applications: ${knownList(table)}`,
  };
}

/** The routed applications, then what the sources know they do not route (RouteTable.unrouted). */
function knownList(table: RouteTable): string {
  const known = table.backends.size === 0 ? 'none (no application is selected or discovered yet)' : [...table.backends.keys()].sort().join(', ');
  return table.unrouted.length === 0 ? known : `${known}; ${table.unrouted.join('; ')}`;
}

function stringAttachment(attachments: ReadonlyMap<string, unknown> | undefined, key: string): string | undefined {
  const value = attachments?.get(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
