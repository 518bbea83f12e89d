import { Redis } from 'ioredis';
import { RedisSentinel } from '../../../test-support/redis-sentinel.js';
import { RedisServer } from '../../../test-support/redis-server.js';

/** Polls `condition` until it holds; fails with `what()` after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: () => unknown,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out; state: ${JSON.stringify(what())}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A primary, two replicas and one Sentinel (quorum 1, primary down after 1 s without an
 * answer), all real processes on free ports. Two replicas so that after a failover the new
 * primary still has one to confirm `wait=1`.
 */
export class Topology {
  readonly name = `tidings-${process.pid}`;
  primary!: RedisServer;
  replicas: RedisServer[] = [];
  sentinel!: RedisSentinel;
  #asker!: Redis;

  async start(replicas = 2): Promise<void> {
    // No 5 s wait for more replicas before a full sync (Redis's default for diskless sync).
    const quickSync = ['--repl-diskless-sync-delay', '0'];
    this.primary = await RedisServer.start(undefined, quickSync);
    for (let i = 0; i < replicas; i++) {
      this.replicas.push(
        await RedisServer.start(undefined, [
          ...quickSync,
          '--replicaof',
          '127.0.0.1',
          String(this.primary.port),
        ]),
      );
    }
    for (const replica of this.replicas) {
      await until(
        async () => /master_link_status:up/.test(await info(replica.port, 'replication')),
        () => `replica ${replica.port} never synced`,
      );
    }
    this.sentinel = await RedisSentinel.start(this.name, this.primary);
    this.#asker = new Redis(this.sentinel.port, '127.0.0.1');
    // Sentinel learns the replicas from the primary's INFO; a failover needs it to know them.
    await until(
      async () =>
        ((await this.#asker.call('SENTINEL', 'REPLICAS', this.name)) as unknown[]).length ===
        replicas,
      () => 'Sentinel never found the replicas',
    );
  }

  url(options = ''): string {
    return `redis+sentinel://127.0.0.1:${this.sentinel.port}/${this.name}${options}`;
  }

  async primaryPort(): Promise<number> {
    const [, port] = (await this.#asker.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [
      string,
      string,
    ];
    return Number(port);
  }

  /** Resolves once Sentinel names another primary than `port` and that one takes writes. */
  async failedOverFrom(port: number): Promise<RedisServer> {
    await until(
      async () => (await this.primaryPort()) !== port,
      () => `Sentinel still names ${port}`,
    );
    const newPort = await this.primaryPort();
    const server = this.replicas.find((each) => each.port === newPort);
    if (!server) throw new Error(`Sentinel names an unknown primary ${newPort}`);
    await until(
      async () => /role:master/.test(await info(newPort, 'replication')),
      () => `${newPort} never became a primary`,
    );
    return server;
  }

  async stop(): Promise<void> {
    this.#asker?.disconnect();
    await this.sentinel?.stop();
    for (const server of [this.primary, ...this.replicas]) await server?.stop();
  }
}

export const offset = (replication: string): string | undefined =>
  /master_repl_offset:(\d+)/.exec(replication)?.[1];

/** One section of a server's INFO, or '' while it does not answer. */
export async function info(port: number, section: string): Promise<string> {
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.info(section);
  } catch {
    return '';
  } finally {
    client.disconnect();
  }
}
