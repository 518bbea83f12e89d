import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

/** What the container file must agree with in the repository. */
export interface RepositoryFacts {
  /** The repository root: where the build context is, so `COPY` sources must exist there. */
  root: string;
  /** The packages that are published (`npm pack` must name each one). */
  publishedPackages: string[];
  /** The `bin` name of `@tidings/hub`. */
  hubBin: string;
  /** The Node majors CI tests: the images must use one of them. */
  testedNodeMajors: number[];
}

/**
 * Lints a container file as far as can be done without a container engine: the syntax and
 * instruction rules of `dockerfile-utils` (the validator behind VS Code's Docker support),
 * then what this project needs of it. Returns one line per problem; none means it passes.
 */
export function containerFileProblems(text: string, facts: RepositoryFacts): string[] {
  const problems = validate(text).map(
    (diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`,
  );
  const file = DockerfileParser.parse(text);
  const froms = file.getFROMs();
  if (froms.length < 2) {
    problems.push(
      'not multi-stage: build in one stage, run from a clean one (no compilers, no dev dependencies)',
    );
  }
  for (const from of froms) {
    const image = from.getImage() ?? '?';
    const tag = from.getImageTag();
    if (from.getImageDigest() === null && (tag === null || tag === 'latest')) {
      problems.push(`FROM ${image}: pin a tag (a floating image changes under you)`);
    }
    if (from.getImageName() === 'node') {
      const major = Number(/^(\d+)/.exec(tag ?? '')?.[1]);
      if (!facts.testedNodeMajors.includes(major)) {
        problems.push(
          `FROM ${image}: Node ${tag} is not one CI tests (${facts.testedNodeMajors.join(', ')})`,
        );
      }
    }
  }

  const last = froms.at(-1);
  const finalStage = file
    .getInstructions()
    .filter(
      (instruction) =>
        last !== undefined && instruction.getRange().start.line >= last.getRange().start.line,
    );
  const final = (keyword: string): Instruction[] =>
    finalStage.filter((instruction) => instruction.getKeyword() === keyword);

  const user = final('USER').at(-1)?.getArgumentsContent()?.trim();
  if (user === undefined) problems.push('the final stage runs as root: add a USER');
  else if (/^(root|0)(:|$)/.test(user))
    problems.push(`the final stage runs as ${user}: use a user without privileges`);

  const healthcheck = final('HEALTHCHECK').at(-1)?.getArgumentsContent() ?? '';
  if (!healthcheck.includes('/livez')) {
    problems.push('no HEALTHCHECK on /livez in the final stage (the liveness check)');
  }

  for (const keyword of ['ENTRYPOINT', 'CMD']) {
    const content = final(keyword).at(-1)?.getArgumentsContent()?.trim();
    if (content === undefined) continue;
    // In shell form, /bin/sh is PID 1 and `docker stop`'s SIGTERM never reaches the hub,
    // so the graceful shutdown never runs.
    if (!content.startsWith('['))
      problems.push(`${keyword} in shell form: use the exec form ["…"]`);
  }
  const entrypoint = final('ENTRYPOINT').at(-1)?.getArgumentsContent() ?? '';
  if (!entrypoint.includes(`node_modules/.bin/${facts.hubBin}`)) {
    problems.push(`ENTRYPOINT does not run the installed ${facts.hubBin} bin`);
  }

  for (const copy of file.getCOPYs()) {
    if (copy.getFlags().some((flag) => flag.getName() === 'from')) continue;
    const sources = copy.getArguments().slice(0, -1);
    for (const source of sources) {
      if (!existsSync(join(facts.root, source.getValue()))) {
        problems.push(`COPY ${source.getValue()}: not in the build context (the repository root)`);
      }
    }
  }

  const packed = [...text.matchAll(/--workspace[= ](\S+)/g)].map((match) => match[1]!);
  if (packed.sort().join() !== [...facts.publishedPackages].sort().join()) {
    problems.push(
      `npm pack names ${packed.join(', ') || 'no workspace'}; the published packages are ${facts.publishedPackages.join(', ')}`,
    );
  }
  return problems;
}
