#!/usr/bin/env node
// Thin launcher: check the Node version before loading anything that needs a newer one,
// then hand over to the bundled CLI (dist/cli.js, built by scripts/build.mjs).
import {existsSync} from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`dubbo-tunnel needs Node.js 20.19 or newer; this is ${process.version}. Install a current LTS from https://nodejs.org.`);
  process.exit(1);
}
const entry = new URL('../dist/cli.js', import.meta.url);
const buildScript = new URL('../scripts/build.mjs', import.meta.url);
// The package is built before it is published (`prepack`), not when it is installed, so a git
// checkout has no dist/ until its first run: build it then (scripts/ is not in the package).
if (!existsSync(entry) && existsSync(buildScript)) {
  process.stderr.write('dubbo-tunnel: building dist/ first (npm run build), as this checkout has no build yet\n');
  try {
    await (await import(buildScript.href)).buildPackage();
  } catch (error) {
    console.error(`dubbo-tunnel: the build failed: ${error && error.message}\nRun \`npm install\` in the repository (it installs esbuild), then \`npm run build\`.`);
    process.exit(1);
  }
}
try {
  const {main} = await import(entry.href);
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    console.error('dubbo-tunnel is not built: run `npm install` and `npm run build` in the repository first.');
    process.exit(1);
  }
  throw error;
}
