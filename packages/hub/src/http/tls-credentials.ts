import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** A certificate chain and its private key, PEM-encoded, as a TLS server takes them. */
export interface TlsCredentials {
  cert: Buffer | string;
  key: Buffer | string;
}

/** A certificate or key that cannot be used; the message says which file and why. */
export class TlsCredentialsError extends Error {
  override name = 'TlsCredentialsError';
}

/**
 * Reads a certificate and key from PEM files and checks that they make a usable pair
 * (`createSecureContext` fails on a key that does not match the certificate), so a mistake
 * is found at start-up or reload with the file named, not at the first handshake.
 *
 * @throws TlsCredentialsError
 */
export function loadTlsCredentials(certFile: string, keyFile: string): TlsCredentials {
  const cert = readPem(certFile, 'certificate');
  const key = readPem(keyFile, 'key');
  checkTlsCredentials({ cert, key }, certFile, keyFile);
  return { cert, key };
}

/** @throws TlsCredentialsError when the pair cannot make a TLS context. */
export function checkTlsCredentials(
  credentials: TlsCredentials,
  certFile = 'the certificate',
  keyFile = 'the key',
): void {
  try {
    createSecureContext(credentials);
  } catch (error) {
    const reason = (error as Error).message;
    throw new TlsCredentialsError(
      /key values mismatch/i.test(reason)
        ? `the key in ${keyFile} does not belong to the certificate in ${certFile}`
        : `cannot use the certificate ${certFile} with the key ${keyFile}: ${reason}`,
    );
  }
}

function readPem(file: string, what: 'certificate' | 'key'): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsCredentialsError(
      code === 'ENOENT'
        ? `cannot read the TLS ${what} ${file}: no such file`
        : `cannot read the TLS ${what} ${file}: ${(error as Error).message}`,
    );
  }
  const marker =
    what === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  if (!marker.test(text.toString('latin1'))) {
    throw new TlsCredentialsError(
      `the TLS ${what} ${file} is not PEM: expected a "-----BEGIN ${what === 'certificate' ? 'CERTIFICATE' : 'PRIVATE KEY'}-----" block`,
    );
  }
  return text;
}
