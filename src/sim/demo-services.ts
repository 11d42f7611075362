/**
 * The three made-up provider applications of `dubbo-tunnel demo`, and the example calls printed
 * for them. Values are shaped as hessian-lite writes Java objects (`{$class, $}`), so consumers see
 * typed POJOs, lists and doubles exactly as from a Java provider.
 */
import {JavaException} from './demo-provider.js';
import type {DemoService} from './demo-provider.js';

const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Barbara Liskov', 'Edsger Dijkstra', 'Margaret Hamilton'];
const ITEMS = ['keyboard', 'espresso beans', 'USB-C cable', 'notebook', 'headphones', 'desk lamp'];

/** A stable small number from a string (so user 42 is always the same person). */
function pick(text: string, modulo: number): number {
  let hash = 7;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) % 1_000_003;
  return hash % modulo;
}

function stringArg(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) throw new JavaException('java.lang.IllegalArgumentException', `${what} must not be null`);
  // A Java String parameter given another type: show it the way String.valueOf roughly would.
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? typeof value;
}

/** hessian.js writes a JS number with no fraction as an int; a Java double field needs the type. */
function javaDouble(value: number): unknown {
  return {$class: 'double', $: value};
}

export const USER_SERVICE: DemoService = {
  interface: 'com.example.demo.UserService',
  methods: {
    getUser: {
      parameterTypes: ['java.lang.String'],
      invoke: ({args, pod}) => {
        const id = stringArg(args[0], 'id');
        const name = NAMES[pick(id, NAMES.length)] ?? 'Ada Lovelace';
        return {
          $class: 'com.example.demo.User',
          $: {
            id,
            name,
            email: `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`,
            tier: pick(id, 3) === 0 ? 'GOLD' : 'STANDARD',
            servedBy: pod,
          },
        };
      },
    },
  },
};

export const ORDER_SERVICE: DemoService = {
  interface: 'com.example.demo.OrderService',
  methods: {
    listOrders: {
      parameterTypes: ['java.lang.String'],
      invoke: ({args, pod}) => {
        const userId = stringArg(args[0], 'userId');
        const count = 1 + pick(userId, 3);
        const orders = Array.from({length: count}, (_, i) => {
          const item = ITEMS[(pick(userId, ITEMS.length) + i) % ITEMS.length] ?? 'notebook';
          return {
            $class: 'com.example.demo.Order',
            $: {
              id: `order-${1000 + pick(userId, 9000) + i}`,
              userId,
              item,
              amount: javaDouble(Math.round((9.5 + pick(item, 90) + i * 0.25) * 100) / 100),
              status: i === 0 ? 'SHIPPED' : 'OPEN',
              servedBy: pod,
            },
          };
        });
        return {$class: 'java.util.ArrayList', $: orders};
      },
    },
  },
};

export const PAY_SERVICE: DemoService = {
  interface: 'com.example.demo.PayService',
  methods: {
    charge: {
      parameterTypes: ['java.lang.String', 'double'],
      invoke: ({args, pod}) => {
        const orderId = stringArg(args[0], 'orderId');
        const amount = typeof args[1] === 'number' ? args[1] : Number.NaN;
        if (!(amount > 0)) {
          throw new JavaException('java.lang.IllegalArgumentException', `amount must be positive, got ${String(args[1])}`);
        }
        return {
          $class: 'com.example.demo.Receipt',
          $: {
            orderId,
            amount: javaDouble(amount),
            currency: 'EUR',
            status: 'PAID',
            transactionId: `tx-${pick(`${orderId}/${amount}`, 1_000_000).toString().padStart(6, '0')}`,
            servedBy: pod,
          },
        };
      },
    },
  },
};

/** One ready-to-paste call: `dubbo-tunnel call <application> <interface> <method> <args...>`. */
export interface DemoCallExample {
  application: string;
  interface: string;
  method: string;
  /** Shell words, already quoted for a POSIX shell. */
  args: string[];
  /** What the call shows, for the printed hint. */
  note: string;
  /** Called over Triple (HTTP/2, `call --triple`) on the same local port instead of dubbo://. */
  triple?: boolean;
}

export const DEMO_CALLS: readonly DemoCallExample[] = [
  {application: 'user-rpc', interface: USER_SERVICE.interface, method: 'getUser', args: [`'"42"'`], note: 'returns a User; it has two pods, servedBy says which one answered'},
  {application: 'order-rpc', interface: ORDER_SERVICE.interface, method: 'listOrders', args: [`'"42"'`], note: 'returns a list of Orders'},
  {application: 'pay-rpc', interface: PAY_SERVICE.interface, method: 'charge', args: [`'"order-1001"'`, '19.99'], note: 'returns a Receipt; an amount of -1.5 throws IllegalArgumentException'},
  // order-rpc's pods also serve Triple: gRPC-style clients reach it through the same local port.
  {application: 'order-rpc', interface: ORDER_SERVICE.interface, method: 'listOrders', args: [`'"42"'`], note: 'the same list over Triple (HTTP/2, application/grpc+json) through the same local port', triple: true},
];
