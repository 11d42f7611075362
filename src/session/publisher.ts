import {parseChoice, qualifiedName} from '../core/applications.js';
import type {Backend} from '../core/backend.js';
import type {Offer} from '../core/backend-source.js';
import type {TunnelEventBus} from '../core/events.js';
import type {ExportLearner} from '../learning/export-learner.js';
import {RouteSource, createRouteTable} from '../router/route-table.js';
import type {RouteTable, RouteView} from '../router/route-table.js';

/** What the user chose: every application, or a list of names and qualified names (`user-rpc@staging`). */
export type Choice = 'all' | readonly string[];

export interface PublisherOptions {
  events: TunnelEventBus;
  /** Each source's kind, in precedence order (index = the source index given to report()). */
  kinds: readonly ('local' | 'cluster')[];
  /** --route interface -> application map. */
  interfaces?: Iterable<[string, string]>;
  /**
   * Learns what each routed application exports: it is told every published set of backends, and
   * the tables carry its service keys (routing by service, the resolve file). None with --no-learn.
   */
  learner?: ExportLearner | undefined;
  choice: Choice;
}

interface Candidate {
  offer: Offer;
  source: number;
}

/**
 * The one writer of the route table. Sources report what they offer; the publisher merges every
 * report into a new immutable table by precedence and swaps it in when a backend changed:
 *
 * - an application chosen as `name@where` is routed only from that place;
 * - otherwise the first offer wins, in source order (local `--backend` addresses first, then the
 *   cluster sources in the order given; within an all-namespaces source its own namespace first,
 *   then by name), and the clash is logged once, naming the place left out.
 *
 * Every table also carries the --route interface map and what the learner knows each routed
 * application exports; the learner is told each new set of backends, and a table is published
 * again whenever what it learned changes.
 *
 * 'routes-changed' is emitted once per change of the routed names (or of where they come from).
 */
export class RoutePublisher {
  readonly #options: PublisherOptions;
  readonly #routes: RouteSource;
  readonly #interfaces: readonly [string, string][];
  readonly #offers: (readonly Offer[])[];
  /** Each source's RouteTable.unrouted sentences. */
  readonly #unrouted: (readonly string[])[];
  readonly #stopLearning: () => void;
  #explicit = new Map<string, string>();
  /** Starts as "nothing routed", so an empty first table is not announced. */
  #signature = JSON.stringify([[], {}]);
  readonly #clashesNoted = new Set<string>();
  #held = 0;
  #dirty = false;
  /** The learner's keys changed since the last table (a new table is due even with the same backends). */
  #learnedChanged = false;
  /** Inside learner.update(): what it says then is in the table being built anyway. */
  #feedingLearner = false;

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#interfaces = [...(options.interfaces ?? [])];
    this.#offers = options.kinds.map(() => []);
    this.#unrouted = options.kinds.map(() => []);
    this.#routes = new RouteSource(this.#build([]));
    this.#stopLearning = options.learner?.subscribe(() => {
      if (this.#feedingLearner) return;
      this.#learnedChanged = true;
      this.#publish();
    }) ?? (() => undefined);
    this.setChoice(options.choice);
  }

  /** What the listener routes by. Only the publisher writes it. */
  get routes(): RouteView {
    return this.#routes;
  }

  /** A source's complete offer right now, and what it knows it does not route (replaces its previous report). */
  report(source: number, offers: readonly Offer[], unrouted: readonly string[] = []): void {
    this.#offers[source] = offers;
    this.#unrouted[source] = unrouted;
    this.#publish();
  }

  setChoice(choice: Choice): void {
    this.#explicit = new Map();
    if (choice !== 'all') {
      for (const entry of choice) {
        const {application, where} = parseChoice(entry);
        if (where !== undefined) this.#explicit.set(application, where);
      }
    }
    this.#publish();
  }

  /**
   * Runs `change` (which may report from several sources and change the choice) and publishes
   * once at the end, so a swap from one place to another never shows a table without the name.
   */
  batch(change: () => void): void {
    this.#held++;
    try {
      change();
    } finally {
      this.#held--;
      if (this.#held === 0 && this.#dirty) this.#publish();
    }
  }

  #publish(): void {
    if (this.#held > 0) {
      this.#dirty = true;
      return;
    }
    this.#dirty = false;
    const byName = new Map<string, Candidate[]>();
    this.#offers.forEach((offers, source) => {
      for (const offer of offers) {
        const list = byName.get(offer.backend.application) ?? [];
        list.push({offer, source});
        byName.set(offer.backend.application, list);
      }
    });
    const chosen: Backend[] = [];
    const origins: Record<string, string> = {};
    for (const [name, candidates] of byName) {
      const explicit = this.#explicit.get(name);
      const pick = explicit === undefined ? candidates[0] : candidates.find((candidate) => candidate.offer.where === explicit);
      if (pick === undefined) continue;
      if (explicit === undefined && candidates.length > 1) this.#noteClash(name, pick, candidates);
      chosen.push(pick.offer.backend);
      if (pick.offer.where !== undefined) origins[name] = pick.offer.where;
    }
    const current = this.#routes.current;
    const same = chosen.length === current.backends.size && chosen.every((backend) => current.backends.get(backend.application) === backend);
    if (!same) this.#feedLearner(chosen);
    const unrouted = this.#unrouted.flat();
    const sameUnrouted = unrouted.length === current.unrouted.length && unrouted.every((sentence, index) => current.unrouted[index] === sentence);
    if (!same || this.#learnedChanged || !sameUnrouted) {
      this.#learnedChanged = false;
      this.#routes.set(this.#build(chosen, unrouted));
    }
    const applications = chosen.map((backend) => backend.application);
    const signature = JSON.stringify([applications, origins]);
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#options.events.emit('routes-changed', Object.keys(origins).length === 0 ? {applications} : {applications, origins});
  }

  /** True when some source offers `application` now (from place `where`, when given). */
  isOffered(application: string, where?: string): boolean {
    return this.#offers.some((offers) => offers.some((offer) => offer.backend.application === application && (where === undefined || offer.where === where)));
  }

  /** Stops following the learner (the learner itself belongs to whoever made it). */
  close(): void {
    this.#stopLearning();
  }

  #build(backends: readonly Backend[], unrouted: readonly string[] = []): RouteTable {
    return createRouteTable(backends, this.#interfaces, this.#options.learner?.keysByApplication() ?? [], unrouted);
  }

  #feedLearner(backends: readonly Backend[]): void {
    const learner = this.#options.learner;
    if (learner === undefined) return;
    this.#feedingLearner = true;
    try {
      learner.update(backends);
    } finally {
      this.#feedingLearner = false;
    }
  }

  /** Says once per clash which place is routed and which is left out, and how to choose the other. */
  #noteClash(name: string, pick: Candidate, candidates: readonly Candidate[]): void {
    const others = candidates.filter((candidate) => candidate !== pick);
    const key = JSON.stringify([name, pick.offer.where, others.map((candidate) => candidate.offer.where)]);
    if (this.#clashesNoted.has(key)) return;
    this.#clashesNoted.add(key);
    const leftOut = others.map((candidate) => qualifiedName(name, candidate.offer.where));
    const winner = qualifiedName(name, pick.offer.where);
    this.#options.events.log('warn', `${name} is offered by ${[winner, ...leftOut].join(' and ')}; routing ${winner} (the first place given wins), not ${leftOut.join(', ')}; choose with --select ${leftOut[0] ?? name} or in the picker (p)`);
  }
}
