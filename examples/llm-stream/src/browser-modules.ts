import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The page imports `@tidings/client` (and through it `@tidings/protocol`) as the built ES
// modules a user installs, mapped by an import map: no bundler between the library and the page.
const roots: Record<string, string> = {
  client: dirname(fileURLToPath(import.meta.resolve('@tidings/client'))),
  protocol: dirname(fileURLToPath(import.meta.resolve('@tidings/protocol'))),
};

/** A module file name of a package's dist: nothing that could leave the folder. */
const MODULE_NAME = /^[a-z0-9-]+\.js$/;

/**
 * Serves `/lib/<client|protocol>/<file>.js`. True when the path was one of those (answered,
 * 200 or 404); false when it is not under /lib/.
 */
export async function serveBrowserModule(path: string, res: ServerResponse): Promise<boolean> {
  const match = /^\/lib\/([a-z]+)\/([^/]+)$/.exec(path);
  if (!match) return false;
  const root = roots[match[1] ?? ''];
  const file = match[2] ?? '';
  if (!root || !MODULE_NAME.test(file)) {
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`No module at ${path}\n`);
    return true;
  }
  try {
    const body = await readFile(join(root, file));
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body);
  } catch {
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`No module at ${path}\n`);
  }
  return true;
}
