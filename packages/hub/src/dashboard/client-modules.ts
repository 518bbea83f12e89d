import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Where the dashboard's browser modules are served from; a content hash follows. */
export const MODULES_PATH = '/admin/modules/';

/** The packages the page imports, by the name its import map gives them. */
const PACKAGES = { client: '@tidings/client', protocol: '@tidings/protocol' } as const;

/**
 * `@tidings/client` and its one dependency, `@tidings/protocol`, as the ES modules they are
 * built to (they run unchanged in browsers), served to the dashboard so it subscribes the way
 * an application does. Their URLs carry a hash of every file, so a browser may cache them for
 * ever and an upgraded hub is never served a stale copy; the page's import map names them.
 */
export class ClientModules {
  readonly hash: string;
  readonly #files = new Map<string, Buffer>();

  private constructor() {
    const require = createRequire(import.meta.url);
    const digest = createHash('sha256');
    for (const [short, name] of Object.entries(PACKAGES)) {
      const dist = dirname(require.resolve(name));
      for (const file of readdirSync(dist).sort()) {
        if (!file.endsWith('.js')) continue;
        const body = readFileSync(join(dist, file));
        digest.update(`${short}/${file}\0`).update(body);
        this.#files.set(`${short}/${file}`, body);
      }
    }
    this.hash = digest.digest('base64url').slice(0, 16);
  }

  static #loaded: ClientModules | undefined;

  /** Read once, on the first page or module asked for. */
  static load(): ClientModules {
    ClientModules.#loaded ??= new ClientModules();
    return ClientModules.#loaded;
  }

  /** The import map the page carries, so `import '@tidings/client'` resolves to these files. */
  importMap(): { imports: Record<string, string> } {
    const imports: Record<string, string> = {};
    for (const [short, name] of Object.entries(PACKAGES)) {
      imports[name] = `${MODULES_PATH}${this.hash}/${short}/index.js`;
    }
    return { imports };
  }

  /** The module at a path under {@link MODULES_PATH}, or undefined (wrong hash, unknown file). */
  find(path: string): Buffer | undefined {
    const rest = path.slice(MODULES_PATH.length);
    const slash = rest.indexOf('/');
    if (slash < 0 || rest.slice(0, slash) !== this.hash) return undefined;
    return this.#files.get(rest.slice(slash + 1));
  }
}
