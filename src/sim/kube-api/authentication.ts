/**
 * Who a request to the simulated API server is: the user of its bearer token, or anonymous on the
 * few paths the real API server lets anyone read; anything else is 401 Unauthorized.
 */
import type http from 'node:http';
import {HttpError, status} from './responses.js';
import type {ServedCluster} from './served-cluster.js';

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export function authenticate(req: http.IncomingMessage, pathname: string, tokens: Pick<ServedCluster, 'userOf'>): string {
  const header = req.headers.authorization;
  if (header === undefined) {
    // system:public-info-viewer lets anonymous clients read /version and the health endpoints.
    if (PUBLIC_PATHS.has(pathname)) return 'system:anonymous';
    throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
  }
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const user = m?.[1] === undefined ? undefined : tokens.userOf(m[1].trim());
  if (user === undefined) throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
  return user;
}
