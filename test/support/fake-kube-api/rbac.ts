/**
 * A small authorizer: everyone may do everything unless a deny rule matches, and a user given an
 * explicit rule set (like a Role bound to them) may do only what those rules allow.
 * Denial messages follow k8s.io/apiserver endpoints/handlers/responsewriters/errors.go `forbiddenMessage`.
 */
import type {RequestAttributes} from '../../../src/sim/kube-api/types.js';

export interface RbacRule {
  /** Username the rule applies to; every user when omitted. */
  user?: string;
  /** A verb or "*". */
  verb: string;
  /** "pods", "*", or "pods/portforward" as shorthand for resource + subresource. */
  resource: string;
  /** Must equal the request's subresource ("" = none); when omitted only requests without one match. */
  subresource?: string;
  /** API group ("" = core); any group when omitted. */
  group?: string;
  /** Any namespace (and cluster scope) when omitted. */
  namespace?: string;
  /** Any object name when omitted. */
  name?: string;
  /** Optional text a SelfSubjectAccessReview shows as `status.reason` for this rule. */
  reason?: string;
}

export interface AuthorizationDecision {
  allowed: boolean;
  reason?: string;
}

function ruleMatches(rule: RbacRule, attrs: RequestAttributes): boolean {
  let resource = rule.resource;
  let subresource = rule.subresource;
  const slash = resource.indexOf('/');
  if (slash >= 0) {
    subresource = resource.slice(slash + 1);
    resource = resource.slice(0, slash);
  }
  if (rule.user !== undefined && rule.user !== attrs.user) return false;
  if (rule.verb !== '*' && rule.verb !== attrs.verb) return false;
  if (resource !== '*' && resource !== attrs.resource) return false;
  if (resource !== '*' && (subresource ?? '') !== attrs.subresource) return false;
  if (rule.group !== undefined && rule.group !== '*' && rule.group !== attrs.group) return false;
  if (rule.namespace !== undefined && rule.namespace !== attrs.namespace) return false;
  // Like `resourceNames`, a named rule never matches a list/watch (no name).
  if (rule.name !== undefined && rule.name !== attrs.name) return false;
  return true;
}

export class Rbac {
  private readonly denials: RbacRule[] = [];
  private readonly allowLists = new Map<string, RbacRule[]>();

  deny(rule: RbacRule): void {
    this.denials.push({...rule});
  }

  /** Restricts `user` to exactly these rules (their `user` field is ignored). */
  setRules(user: string, rules: readonly RbacRule[]): void {
    this.allowLists.set(user, rules.map((r) => ({...r, user})));
  }

  /** Back to allow-all for everyone. */
  reset(): void {
    this.denials.length = 0;
    this.allowLists.clear();
  }

  authorize(attrs: RequestAttributes): AuthorizationDecision {
    const denial = this.denials.find((r) => ruleMatches(r, attrs));
    // RBAC itself never says why it did not allow something; a reason shows only if the test set one.
    if (denial !== undefined) return {allowed: false, ...(denial.reason === undefined ? {} : {reason: denial.reason})};
    const allowList = this.allowLists.get(attrs.user);
    if (allowList !== undefined) {
      const rule = allowList.find((r) => ruleMatches(r, attrs));
      if (rule === undefined) return {allowed: false};
      return {allowed: true, reason: `RBAC: allowed by RoleBinding "fake-kube-api:${attrs.user}" of Role "fake-kube-api:${attrs.user}" to User "${attrs.user}"`};
    }
    return {allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "fake-kube-api:allow-all" of ClusterRole "cluster-admin" to User "${attrs.user}"`};
  }
}

/** `User "alice" cannot list resource "services" in API group "" in the namespace "default"`. */
export function forbiddenMessage(attrs: RequestAttributes): string {
  const resource = attrs.subresource === '' ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const scope = attrs.namespace === '' ? 'at the cluster scope' : `in the namespace "${attrs.namespace}"`;
  return `User "${attrs.user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}" ${scope}`;
}
