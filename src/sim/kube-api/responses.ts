/**
 * The simulated API server's JSON answers: `metav1.Status` failure bodies, the error that carries
 * one out of a handler, and the headers every JSON answer of the real API server has.
 */
import {randomUUID} from 'node:crypto';
import type http from 'node:http';
import type {KubeStatus} from './types.js';

export function status(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : {details}), code};
}

/** Thrown by a handler to answer with this Status (its code is the HTTP status). */
export class HttpError extends Error {
  constructor(readonly body: KubeStatus) {
    super(body.message);
  }
}

export function sendJson(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    'Cache-Control': 'no-cache, private',
    'Audit-Id': randomUUID(),
    ...headers,
  });
  res.end(json);
}
