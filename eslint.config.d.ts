// Types of eslint.config.js for the tests that read its layer table (test/architecture/layers.test.ts).
export interface LayerRule {
  /** Folders of src/ (or single files such as `core/errors`) this layer may import. */
  readonly mayImport: readonly string[];
  readonly bannedPackages: readonly string[];
  /** Folders of src/ this layer may import types from (and load lazily), nothing else. */
  readonly typesFrom?: readonly string[];
}
export const LAYERS: Readonly<Record<string, LayerRule>>;
declare const config: unknown;
export default config;
