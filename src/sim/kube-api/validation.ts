/**
 * The few validation rules of the real API server that the simulated cluster applies to objects
 * written through its API, with the API server's messages.
 */
import {isDns1123Subdomain, LEGACY_INGRESS_CLASS_ANNOTATION} from './dubbo-app.js';
import type {ResourceType} from './resources.js';
import {record, type KubeObject} from './types.js';

/** Throws what the real API server answers for an invalid object, so tests cannot write one by accident. */
export function validateObject(type: ResourceType, obj: KubeObject, existing: KubeObject | undefined): void {
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new Error(`fake-kube-api: ${type.kind} needs metadata.name`);
  const invalid = (field: string, value: string, detail: string): Error =>
    new Error(`${type.kind}.${type.group === '' ? '' : type.group} "${name}" is invalid: ${field}: Invalid value: "${value}": ${detail}`);
  if (type.kind === 'Ingress') {
    const spec = record(obj.spec);
    const rules = Array.isArray(spec.rules) ? (spec.rules as Record<string, unknown>[]) : [];
    rules.forEach((rule, i) => {
      if (typeof rule.host === 'string' && !isDns1123Subdomain(rule.host)) {
        throw invalid(`spec.rules[${i}].host`, rule.host,
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
      }
    });
    const annotation = obj.metadata.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION];
    if (existing === undefined && typeof spec.ingressClassName === 'string' && annotation !== undefined) {
      // networking/validation ValidateIngressCreate.
      throw new Error(`Ingress.networking.k8s.io "${name}" is invalid: annotations.kubernetes.io/ingress.class: Invalid value: "${annotation}": can not be set when the class field is also set`);
    }
    if (spec.rules === undefined && spec.defaultBackend === undefined) {
      throw new Error(`Ingress.networking.k8s.io "${name}" is invalid: spec: Invalid value: ...: either \`defaultBackend\` or \`rules\` must be specified`);
    }
  }
}
