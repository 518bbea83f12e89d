import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { containerFileProblems, type RepositoryFacts } from './container-file-checks.js';

// No container engine runs on the machines this project is tested on, so the container file
// is linted, and every fact it relies on is checked against the repository.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKERFILE = join(ROOT, 'deploy/container/Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');

function repositoryFacts(): RepositoryFacts {
  const publishedPackages = readdirSync(join(ROOT, 'packages'))
    .map((name) => ({
      name,
      manifest: JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')),
    }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ name }) => `packages/${name}`);
  const hub = JSON.parse(readFileSync(join(ROOT, 'packages/hub/package.json'), 'utf8'));
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  const versions = /^NODE_VERSIONS="([\d ]+)"$/m.exec(ci)?.[1];
  if (versions === undefined) throw new Error('.ci/run has no NODE_VERSIONS line');
  return {
    root: ROOT,
    publishedPackages,
    hubBin: Object.keys(hub.bin)[0]!,
    testedNodeMajors: versions.split(' ').map(Number),
  };
}

describe('deploy/container/Dockerfile', () => {
  const facts = repositoryFacts();

  it('passes the linter and every check of what the hub needs', () => {
    expect(containerFileProblems(text, facts)).toEqual([]);
  });

  it('builds on a Node major that the packages declare in engines', () => {
    const engines = JSON.parse(readFileSync(join(ROOT, 'packages/hub/package.json'), 'utf8'))
      .engines.node as string;
    const minimum = Number(/^>=(\d+)/.exec(engines)?.[1]);
    for (const [, major] of text.matchAll(/^FROM node:(\d+)/gm)) {
      expect(Number(major)).toBeGreaterThanOrEqual(minimum);
    }
  });

  it('keeps installed modules and build output out of the build context', () => {
    const ignore = readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '.git']) expect(ignore).toContain(pattern);
  });

  // The checks above can fail: each broken variant is caught, with a line that says why.
  it.each([
    [
      'a typo in an instruction',
      (t: string) => t.replace('USER node', 'USR node'),
      /Unknown instruction: USR/,
    ],
    ['running as root', (t: string) => t.replace(/^USER node\n/m, ''), /runs as root: add a USER/],
    ['an explicit root user', (t: string) => t.replace('USER node', 'USER 0:0'), /runs as 0:0/],
    ['one stage', (t: string) => t.slice(t.lastIndexOf('FROM ')), /not multi-stage/],
    ['a floating image', (t: string) => t.replace(/FROM node:[^\s]+$/m, 'FROM node'), /pin a tag/],
    [
      'an untested Node',
      (t: string) => t.replaceAll('node:22-', 'node:18-'),
      /Node 18-bookworm-slim is not one CI tests/,
    ],
    [
      'a health check on another path',
      (t: string) => t.replace("'/livez'", "'/healthz'"),
      /no HEALTHCHECK on \/livez/,
    ],
    [
      'a shell-form entrypoint',
      (t: string) =>
        t.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT /opt/tidings/node_modules/.bin/tidings'),
      /ENTRYPOINT in shell form/,
    ],
    [
      'a missing source',
      (t: string) => t.replace('COPY bench ./bench', 'COPY benchmarks ./bench'),
      /COPY benchmarks: not in the build context/,
    ],
    [
      'a package left out of the pack',
      (t: string) => t.replace('--workspace packages/client', ''),
      /npm pack names/,
    ],
  ])('catches %s', (_name, mutate, problem) => {
    const broken = mutate(text);
    expect(broken).not.toBe(text);
    expect(containerFileProblems(broken, facts).join('\n')).toMatch(problem);
  });
});
