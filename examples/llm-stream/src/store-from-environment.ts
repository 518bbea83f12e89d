import type { ResumableStore } from '@tidings/server';

/**
 * The reply store `REDIS_URL` names (replies shared by every instance on that Redis), or
 * undefined for this process's memory. `@tidings/redis` is loaded only when it is used.
 */
export async function storeFromEnvironment(
  env: NodeJS.ProcessEnv,
): Promise<(ResumableStore & { close(): Promise<void> }) | undefined> {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') return undefined;
  const { RedisResumableStore } = await import('@tidings/redis');
  return new RedisResumableStore({ redis: url, prefix: 'llm-stream:' });
}
