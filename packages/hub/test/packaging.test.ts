/**
 * What a user installs is what is tested here: every package is packed with `npm pack`, the
 * tarballs are installed into an empty folder outside the workspace, and each public entry
 * of every `exports` map is imported (ESM) and type-checked (a consumer file under `tsc`, with
 * the libraries' own declaration files checked too), and `npx tidings --help` runs.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/.bin/tsc');
const REPOSITORY = 'https://github.com/tidings-sse/tidings';
// Installing from the registry (the packages' own dependencies) takes a while on a cold cache.
const SLOW = 240_000;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  engines?: { node?: string };
  exports: Record<string, string | { types: string; default: string }>;
  bin?: Record<string, string>;
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  bugs?: { url: string };
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packages = readdirSync(join(ROOT, 'packages'))
  .map((folder) => ({
    folder,
    manifest: JSON.parse(
      readFileSync(join(ROOT, 'packages', folder, 'package.json'), 'utf8'),
    ) as Manifest,
  }))
  .filter(({ manifest }) => manifest.private !== true);

/** Every importable specifier: `@tidings/server`, `@tidings/server/express`, ... */
const entries = packages.flatMap(({ manifest }) =>
  Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`)),
);

function npm(args: string[], cwd: string) {
  return run('npm', args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    // Outside the workspace: no `npm_config_*` of the test run's own npm may leak in.
    env: Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
    ),
  });
}

describe('the packages as npm publishes them', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tidings-packaging-'));
  const packs = join(scratch, 'packs');
  const consumer = join(scratch, 'consumer');
  let packed: { name: string; filename: string; files: { path: string }[] }[] = [];

  beforeAll(async () => {
    mkdirSync(packs);
    const { stdout } = await npm(
      [
        'pack',
        '--json',
        '--pack-destination',
        packs,
        ...packages.flatMap(({ folder }) => ['--workspace', `packages/${folder}`]),
      ],
      ROOT,
    );
    packed = JSON.parse(stdout);
    // An empty folder that is no workspace: only the tarballs and what they depend on.
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await npm(
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packed.map(({ filename }) => join(packs, filename)),
      ],
      consumer,
    );
  }, SLOW);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Imports every entry in a fresh process in the consumer folder: the message of each that fails. */
  async function importEntries(): Promise<Record<string, string>> {
    const script = `const failures = {};
for (const entry of ${JSON.stringify(entries)}) {
  try {
    const module = await import(entry);
    if (Object.keys(module).length === 0) failures[entry] = 'exports nothing';
  } catch (error) {
    failures[entry] = String(error?.message ?? error);
  }
}
console.log(JSON.stringify(failures));
`;
    writeFileSync(join(consumer, 'imports.mjs'), script);
    const { stdout } = await run(process.execPath, ['imports.mjs'], { cwd: consumer });
    return JSON.parse(stdout);
  }

  it('packs every package with its README, licence and build, and no tests', () => {
    expect(packed.map(({ name }) => name).sort()).toEqual(
      packages.map(({ manifest }) => manifest.name).sort(),
    );
    for (const { name, files } of packed) {
      const paths = files.map(({ path }) => path);
      for (const required of [
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
      ]) {
        expect(paths, `${name} lacks ${required}`).toContain(required);
      }
      expect(
        paths.filter((path) => /(^|\/)test\/|\.test\.|tsbuildinfo/.test(path)),
        name,
      ).toEqual([]);
    }
  });

  it('describes itself on npm: repository, homepage, issues, engines, links that resolve there', () => {
    for (const { folder, manifest } of packages) {
      expect(manifest.repository, manifest.name).toEqual({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: `packages/${folder}`,
      });
      expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/packages/${folder}#readme`);
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` });
      expect(manifest.engines?.node).toBe('>=22');
      const readme = readFileSync(join(ROOT, 'packages', folder, 'README.md'), 'utf8');
      // npm shows the README without the repository around it: a relative link leads nowhere.
      const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1]!);
      expect(links.length, `${manifest.name} README links nothing`).toBeGreaterThan(0);
      for (const link of links) expect(link, manifest.name).toMatch(/^https:\/\//);
    }
  });

  it(
    'imports every public entry as ESM; without optional peers, only their entries fail, naming the peer',
    async () => {
      const failures = await importEntries();
      for (const [entry, message] of Object.entries(failures)) {
        const manifest = packages.find(({ manifest }) =>
          entry.startsWith(`${manifest.name}/`),
        )!.manifest;
        const peer = /Cannot find package '([^']+)'/.exec(message)?.[1];
        expect(peer, `${entry}: ${message}`).toBeDefined();
        expect(manifest.peerDependenciesMeta?.[peer!]?.optional, `${entry} needs ${peer}`).toBe(
          true,
        );
      }
      // The main entries never need a peer.
      for (const { manifest } of packages) expect(failures[manifest.name]).toBeUndefined();
      expect(entries.length).toBeGreaterThanOrEqual(9);
    },
    SLOW,
  );

  it(
    'runs npx tidings --help from the installed bin',
    async () => {
      const { stdout } = await run('npx', ['--no-install', 'tidings', '--help'], {
        cwd: consumer,
      });
      for (const command of ['serve', 'token', 'publish', 'listen', 'bench']) {
        expect(stdout).toContain(`  ${command} `);
      }
      const serve = await run('npx', ['--no-install', 'tidings', 'serve', '--help'], {
        cwd: consumer,
      });
      expect(serve.stdout).toContain('--admin-listen');
    },
    SLOW,
  );

  it(
    'runs the load client of @tidings/hub/load from the install: its load processes start from the package',
    async () => {
      // The fleet forks dist/load/worker.js by a path relative to itself: a file the package
      // forgot, or a path that only resolves inside the repository, fails here.
      writeFileSync(
        join(consumer, 'load.mjs'),
        `import { createServer } from 'node:http';
import { LoadFleet } from '@tidings/hub/load';
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('data: {"marker":"packed","n":1}\\n\\n');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const fleet = LoadFleet.start(1);
const connect = await fleet.connect(
  { host: '127.0.0.1', port: server.address().port, path: '/' },
  3,
);
// Each connection was sent one event as it opened: wait for the three to be counted.
let stats = await fleet.stats();
for (let i = 0; i < 200 && stats.events < 3; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  stats = await fleet.stats();
}
await fleet.close();
server.closeAllConnections();
server.close();
console.log(JSON.stringify({ opened: connect.opened, events: stats.events }));
`,
      );
      const { stdout } = await run(process.execPath, ['load.mjs'], { cwd: consumer });
      expect(JSON.parse(stdout)).toEqual({ opened: 3, events: 3 });
      const help = await run('npx', ['--no-install', 'tidings', 'bench', '--help'], {
        cwd: consumer,
      });
      expect(help.stdout).toMatch(/^Usage: tidings bench /);
    },
    SLOW,
  );

  it(
    'type-checks a consumer of every entry, declaration files included',
    async () => {
      // A consumer of an adapter has its framework (and its types); one of the hub, Node's.
      const server = packages.find(({ folder }) => folder === 'server')!.manifest;
      const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
      const wanted = ['express', '@types/express', 'koa', '@types/koa', 'fastify', 'hono'];
      const devVersion = (name: string) =>
        server.devDependencies?.[name] ?? root.devDependencies![name]!;
      await npm(
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          `@types/node@${root.devDependencies!['@types/node']}`,
          ...wanted.map((name) => `${name}@${devVersion(name)}`),
          // The hub's broker conformance suite runs inside the user's vitest.
          `vitest@${root.devDependencies!.vitest}`,
        ],
        consumer,
      );
      // With the peers a user of those entries has, every entry loads.
      expect(await importEntries()).toEqual({});
      const imports = entries.map(
        (entry, i) => `import * as entry${i} from ${JSON.stringify(entry)};`,
      );
      writeFileSync(
        join(consumer, 'consumer.ts'),
        `${imports.join('\n')}
import { createParser, encodeEvent } from '@tidings/protocol';
import { Channel, EventStream } from '@tidings/server';
import { connect, EventSource } from '@tidings/client';
import { Hub, type HubOptions } from '@tidings/hub';
import { createServer } from 'node:http';

export const all = [${entries.map((_, i) => `entry${i}`).join(', ')}];
const parser = createParser({ onEvent: (event) => console.log(event.type, event.data) });
parser.feed(encodeEvent({ event: 'greeting', data: 'hello' }));
const channel = new Channel();
createServer((req, res) => channel.subscribe(EventStream.fromNode(req, res)));
export const source: typeof EventSource = EventSource;
export const stream: typeof connect = connect;
const key = { kind: 'secret', secret: 'a-secret-of-at-least-thirty-two-bytes' } as const;
const options: HubOptions = {
  auth: { publisherKey: key, subscriberKey: key, anonymous: true, allowedOrigins: [] },
  admin: 'separate',
};
export const hub: Promise<Hub> = Hub.create(options);
// @ts-expect-error the hub's options are typed: an unknown admin mode is refused
export const wrong: HubOptions = { ...options, admin: 'everyone' };
`,
      );
      writeFileSync(
        join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2023',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            lib: ['ES2023', 'DOM', 'DOM.Iterable'],
            types: ['node'],
            strict: true,
            noEmit: true,
            // The packages' own .d.ts files are checked too, as a strict user's build does.
            skipLibCheck: false,
          },
          files: ['consumer.ts'],
        }),
      );
      const result = await run(TSC, ['-p', 'tsconfig.json'], { cwd: consumer }).then(
        () => ({ stdout: '', stderr: '' }),
        (error: { stdout: string; stderr: string }) => error,
      );
      // tsc itself ran: a crash or a bad tsconfig would say so here.
      expect(result.stderr).toBe('');
      // Errors inside other projects' declaration files are theirs (today: @types/koa against
      // the content-disposition that koa 3 installs); ours and the consumer's must be none.
      const ours = result.stdout
        .split('\n')
        .filter((line) => /^(consumer\.ts|node_modules\/@tidings\/)/.test(line));
      expect(ours).toEqual([]);
      expect(result.stdout).not.toMatch(/^error TS/m);
    },
    SLOW,
  );
});
