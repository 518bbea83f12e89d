import { HUB_PATH } from '../protocol/draft-07.js';
import { type OptionSpec, UsageError } from './options.js';

export const DEFAULT_HUB_URL = `http://localhost:3000${HUB_PATH}`;

/** `--hub http://host:3000` or the full `.../.well-known/mercure` URL; the path is added when missing. */
export function hubUrl(value: string | undefined): URL {
  const text = value ?? DEFAULT_HUB_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--hub: "${text}" is not a URL; write e.g. ${DEFAULT_HUB_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--hub: "${text}" must be an http:// or https:// URL`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = HUB_PATH;
  return url;
}

/** `--hub`, the same for every command that talks to a running hub. */
export const HUB_URL_OPTION: OptionSpec = {
  name: 'hub',
  type: 'string',
  env: 'TIDINGS_HUB_URL',
  defaultText: DEFAULT_HUB_URL,
  placeholder: 'url',
  description: 'The hub',
};
