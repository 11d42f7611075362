// The published package as a user gets it: `npm pack`, installed into a fresh prefix with nothing
// else, then run. Every runtime package is bundled, so the install must bring nothing but
// dubbo-tunnel itself, and the CLI must still work (help, ls against the fake API server).
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {cleanEnv, ensureBuilt, ROOT, runProgram} from '../support/binary.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

describe('the published package', () => {
  let dir: string;
  let files: string[];
  let installed: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-package-'));
    env = cleanEnv({HOME: dir, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config')});
    // --ignore-scripts: dist/ is fresh (ensureBuilt), and prepack's rebuild would swap it under
    // other test files that run the binary at the same time.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: ROOT, encoding: 'utf8', env})) as {filename: string; files: {path: string}[]}[];
    files = packed[0]!.files.map((file) => file.path);
    const prefix = path.join(dir, 'prefix');
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, path.join(dir, packed[0]!.filename)], {encoding: 'utf8', env, stdio: 'pipe'});
    installed = path.join(prefix, 'node_modules');
  });
  after(() => rmSync(dir, {recursive: true, force: true}));

  it('holds the bundle, its licences and source maps, and nothing of the repository besides', () => {
    for (const required of ['package.json', 'LICENSE', 'README.md', 'bin/dubbo-tunnel.js', 'dist/cli.js', 'dist/cli.js.map', 'dist/THIRD-PARTY-LICENSES.txt']) {
      assert.ok(files.includes(required), `${required} is in the package`);
    }
    const unexpected = files.filter((file) => !/^(package\.json|LICENSE|README\.md|bin\/dubbo-tunnel\.js|dist\/(cli\.js(\.map)?|THIRD-PARTY-LICENSES\.txt|chunks\/[\w-]+\.js(\.map)?)|docs\/[\w-]+\.md)$/.test(file));
    assert.deepEqual(unexpected, []);
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {dependencies?: object; scripts: Record<string, string>; repository?: {url?: string}; homepage?: string; bugs?: {url?: string}};
    assert.equal(manifest.dependencies, undefined, 'everything the CLI needs is bundled');
    assert.equal(manifest.scripts['prepare'], undefined, 'installing runs no build');
    // npm's page links the repository, the issues and the home page; `npm bugs` opens the issues.
    assert.match(manifest.repository?.url ?? '', /^git\+https:\/\/github\.com\/dubbo-tunnel\/dubbo-tunnel\.git$/);
    assert.match(manifest.homepage ?? '', /^https:\/\/github\.com\/dubbo-tunnel\/dubbo-tunnel/);
    assert.match(manifest.bugs?.url ?? '', /^https:\/\/github\.com\/dubbo-tunnel\/dubbo-tunnel\/issues$/);
  });

  it('ships every doc that its messages and its README point at', () => {
    const sources = readdirSync(path.join(ROOT, 'src'), {recursive: true, encoding: 'utf8'}).filter((file) => /\.tsx?$/.test(file));
    const named = new Set<string>();
    for (const text of [...sources.map((file) => readFileSync(path.join(ROOT, 'src', file), 'utf8')), readFileSync(path.join(ROOT, 'README.md'), 'utf8')]) {
      for (const match of text.matchAll(/\bdocs\/[\w-]+\.md\b/g)) named.add(match[0]);
    }
    assert.ok(named.has('docs/kubernetes.md') && named.has('docs/troubleshooting.md'), [...named].join(', '));
    assert.deepEqual([...named].filter((doc) => !files.includes(doc)), []);
  });

  it('has source maps that carry every source they name', () => {
    const maps = files.filter((file) => file.endsWith('.js.map'));
    assert.ok(maps.length > 1);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(path.join(installed, 'dubbo-tunnel', map), 'utf8')) as {sources: string[]; sourcesContent?: (string | null)[]};
      assert.equal(parsed.sourcesContent?.length, parsed.sources.length, `${map}: sourcesContent for every source`);
      assert.ok(parsed.sourcesContent.every((content) => typeof content === 'string'), `${map}: no source left out`);
      const js = readFileSync(path.join(installed, 'dubbo-tunnel', map.replace(/\.map$/, '')), 'utf8');
      assert.ok(js.trimEnd().endsWith(`//# sourceMappingURL=${path.basename(map)}`), `${map} is linked from its file`);
    }
  });

  it('installs nothing but itself, and runs: --help, --version, ls against the fake API server', async () => {
    assert.deepEqual(readdirSync(installed).filter((name) => !name.startsWith('.')), ['dubbo-tunnel']);
    const bin = path.join(installed, '.bin', 'dubbo-tunnel');
    const help = await runProgram([bin, '--help'], env);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: dubbo-tunnel <command> \[options\]$/m);
    const version = await runProgram([bin, '--version'], env);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version);
    const api = await FakeKubeApi.start();
    try {
      api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-0'}]});
      const ls = await runProgram([bin, 'ls', '--kubeconfig', api.writeKubeconfig(dir)], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^user-rpc\s+default\s+user-rpc\s+dubbo:20880\s+service\s+1$/m);
    } finally {
      await api.stop();
    }
  });
});
