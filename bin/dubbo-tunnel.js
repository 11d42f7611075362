#!/usr/bin/env node
// Thin launcher: check the Node version before loading anything that needs a newer one,
// then hand over to the compiled CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`dubbo-tunnel needs Node.js 20.19 or newer; this is ${process.version}. Install a current LTS from https://nodejs.org.`);
  process.exit(1);
}
try {
  const {main} = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('dubbo-tunnel is not built yet: run `npm install` (or `npm run build`) in the repository first.');
    process.exit(1);
  }
  throw error;
}
