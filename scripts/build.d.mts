// Types of build.mjs for the test helper that checks whether dist/ is fresh (test/support/binary.ts).
export function bundleIsFresh(outdir?: string): boolean;
