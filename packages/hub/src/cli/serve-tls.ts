import type { ListenSecurity } from '../http/listeners.js';
import { loadTlsCredentials, TlsCredentialsError } from '../http/tls-credentials.js';
import type { Hub } from '../hub.js';
import type { OptionSpec } from './options.js';
import { UsageError } from './options.js';
import type { ReloadStep } from './reload.js';

export const SERVE_TLS_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'tls-cert',
    type: 'string',
    env: 'TIDINGS_TLS_CERT',
    placeholder: 'file',
    description:
      'PEM certificate chain: serve HTTPS with HTTP/2 and HTTP/1.1 (ALPN); SIGHUP reloads it',
  },
  {
    name: 'tls-key',
    type: 'string',
    env: 'TIDINGS_TLS_KEY',
    placeholder: 'file',
    description: 'PEM private key of --tls-cert',
  },
  {
    name: 'h2c',
    type: 'boolean',
    env: 'TIDINGS_H2C',
    defaultText: 'off',
    description:
      'Also speak cleartext HTTP/2 (prior knowledge) on the port, for a proxy that speaks HTTP/2 to the hub',
  },
];

/** How `serve` listens, and where its certificate comes from (for reloads). */
export interface ServeTlsConfig {
  security: ListenSecurity | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

/**
 * Reads `--tls-cert`, `--tls-key` and `--h2c` and loads the certificate, so a mistake stops
 * the start with one line naming the file.
 *
 * @throws UsageError
 */
export function resolveServeTls(get: <T>(name: string) => T | undefined): ServeTlsConfig {
  const certFile = get<string>('tls-cert');
  const keyFile = get<string>('tls-key');
  const h2c = get<boolean>('h2c') === true;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      certFile === undefined
        ? '--tls-key needs --tls-cert (the certificate of that key)'
        : '--tls-cert needs --tls-key (the private key of that certificate)',
    );
  }
  if (certFile === undefined || keyFile === undefined) {
    return { security: h2c ? { h2c: true } : undefined, certFile, keyFile };
  }
  if (h2c) {
    throw new UsageError(
      '--h2c is cleartext HTTP/2; with --tls-cert the hub already offers HTTP/2 by ALPN: drop one',
    );
  }
  try {
    return { security: { tls: loadTlsCredentials(certFile, keyFile) }, certFile, keyFile };
  } catch (error) {
    if (error instanceof TlsCredentialsError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Reads the certificate files again and gives them to the hub's TLS listeners: new
 * connections get the new certificate, open ones (and their event streams) keep going.
 *
 * @throws TlsCredentialsError for a pair that cannot be used; the running certificate stays.
 */
export function reloadTlsCredentials(hub: Hub, certFile: string, keyFile: string): void {
  hub.setTlsCredentials(loadTlsCredentials(certFile, keyFile));
}

/**
 * The SIGHUP step for the certificate (what certbot's deploy hook and systemd `ExecReload`
 * send), alone or in every worker of `--workers`; `undefined` without TLS.
 */
export function reloadTlsStep(hub: Hub, config: ServeTlsConfig): ReloadStep | undefined {
  const { certFile, keyFile } = config;
  if (certFile === undefined || keyFile === undefined) return undefined;
  return {
    name: `TLS certificate ${certFile}`,
    run: async () => reloadTlsCredentials(hub, certFile, keyFile),
  };
}
