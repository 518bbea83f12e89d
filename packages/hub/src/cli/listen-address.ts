import { UsageError } from './options.js';

/** Where a listener binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Reads `[host:]port` as `--admin-listen` takes it: `9090`, `127.0.0.1:9090`,
 * `[::1]:9090`, `0.0.0.0:9090`. Without a host it is the loopback address: an admin
 * listener is reachable from elsewhere only when the operator writes so.
 *
 * @throws UsageError naming the option and what is wrong.
 */
export function parseListenAddress(text: string, option: string): ListenAddress {
  const fail = (why: string): never => {
    throw new UsageError(
      `${option} takes [host:]port, e.g. 127.0.0.1:9090 or [::1]:9090; "${text}" ${why}`,
    );
  };
  let host = '127.0.0.1';
  let portText = text;
  if (text.startsWith('[')) {
    const close = text.indexOf(']:');
    if (close === -1) fail('has no port after the bracketed IPv6 address');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon !== -1) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (host.includes(':')) fail('is an IPv6 address without brackets');
    }
  }
  if (host === '') fail('has an empty host');
  if (!/^\d{1,5}$/.test(portText)) fail('has no port number');
  const port = Number(portText);
  if (port > 65_535) fail('has a port above 65535');
  return { host, port };
}
