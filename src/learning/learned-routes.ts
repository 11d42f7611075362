/**
 * Joins published route tables with what the ExportLearner knows: whoever publishes tables (static
 * backends, the cluster, a session) writes to `published`; the tunnel reads `routes`, which is the same
 * table plus the learned service-key maps. The learner is fed every published set of backends.
 */
import {createRouteTable} from '../router/route-table.js';
import type {RouteSource} from '../router/route-table.js';
import type {ExportLearner} from './export-learner.js';

export function routeLearnedServices(published: RouteSource, routes: RouteSource, learner: ExportLearner): () => void {
  const rebuild = () => {
    const table = published.current;
    routes.set(createRouteTable(table.backends.values(), table.interfaces, learner.keysByApplication()));
  };
  const offLearner = learner.subscribe(rebuild);
  const offPublished = published.subscribe((table) => {
    learner.update(table.backends.values());
    rebuild();
  });
  learner.update(published.current.backends.values());
  rebuild();
  return () => {
    offPublished();
    offLearner();
  };
}
