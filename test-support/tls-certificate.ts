import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';

/** The openssl binary, or `undefined` (tests skip; under CI=true this throws). */
export const opensslBinary = requireBinary('openssl', 'openssl');

/** A self-signed certificate for `localhost` and 127.0.0.1, made by openssl in a directory of its own. */
export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint, as `X509Certificate.fingerprint256` prints it. */
  fingerprint: string;
  remove(): void;
}

/**
 * Makes a fresh self-signed certificate (EC P-256, valid one day); each call gives a new key,
 * so a test can tell two certificates apart by their fingerprints.
 */
export function makeTestCertificate(commonName = 'localhost'): TestCertificate {
  if (!opensslBinary) throw new Error('openssl is not installed: apt-get install -y openssl');
  const dir = mkdtempSync(join(tmpdir(), 'tidings-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    opensslBinary,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile);
  const fingerprint = execFileSync(
    opensslBinary,
    ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'],
    { encoding: 'utf8' },
  )
    .trim()
    .replace(/^.*=/, '');
  return {
    dir,
    certFile,
    keyFile,
    cert,
    key: readFileSync(keyFile),
    fingerprint,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
