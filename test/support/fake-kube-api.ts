export * from '../../src/sim/kube-api.js';
