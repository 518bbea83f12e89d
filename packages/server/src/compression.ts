import type { Transform } from 'node:stream';

export type ContentCoding = 'br' | 'gzip';

/**
 * The coding to use for `Accept-Encoding`, preferring brotli, then gzip; undefined for none.
 * Quality values are honoured (`q=0` refuses a coding) and `*` stands for codings the header
 * does not name (RFC 9110 §12.5.3).
 */
export function negotiateCoding(
  acceptEncoding: string | null | undefined,
): ContentCoding | undefined {
  if (!acceptEncoding) return undefined;
  let br = -1;
  let gzip = -1;
  let any = -1;
  for (const part of acceptEncoding.split(',')) {
    const semicolon = part.indexOf(';');
    const coding = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    let q = 1;
    if (semicolon !== -1) {
      const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(part.slice(semicolon));
      if (match !== null) q = Number(match[1]);
      if (!(q >= 0 && q <= 1)) q = 0;
    }
    if (coding === 'br') br = q;
    else if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip, q);
    else if (coding === '*') any = q;
  }
  if (br === -1) br = any === -1 ? 0 : any;
  if (gzip === -1) gzip = any === -1 ? 0 : any;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return undefined;
}

type Zlib = typeof import('node:zlib');

/**
 * node:zlib when the runtime has it (Node 20.16+, Bun, Deno), loaded on demand: a static import
 * would make the whole package unusable in runtimes without it (edge workers, browsers).
 * The web's CompressionStream is no substitute: it cannot flush, so events would sit in it.
 */
function loadZlib(): Zlib | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  return process?.getBuiltinModule?.('node:zlib') as Zlib | undefined;
}

/** True when {@link createCompressor} can work here. */
export function compressionAvailable(): boolean {
  return loadZlib() !== undefined;
}

/**
 * A compressor that flushes after every write, so each event leaves in full at once instead
 * of waiting in the compressor's window. Brotli runs at quality 4 with a 256 KiB window:
 * per connection, the default quality 11 costs far more CPU and the default window 4 MiB of
 * memory, for little gain on small events.
 */
export function createCompressor(coding: ContentCoding): Transform | undefined {
  const zlib = loadZlib();
  if (zlib === undefined) return undefined;
  const { constants } = zlib;
  if (coding === 'br') {
    return zlib.createBrotliCompress({
      flush: constants.BROTLI_OPERATION_FLUSH,
      params: {
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_QUALITY]: 4,
        [constants.BROTLI_PARAM_LGWIN]: 18,
      },
    });
  }
  return zlib.createGzip({ flush: constants.Z_SYNC_FLUSH });
}
