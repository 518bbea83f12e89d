import { createHmac } from 'node:crypto';

/**
 * An HS256 JWS for the hub, minted here so the benchmark needs nothing but node:crypto.
 * `claims` is the payload, e.g. `{ mercure: { publish: ['*'] } }`.
 */
export function mintHs256(secret: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
