/**
 * `@tidings/redis`: Redis Streams as the hub's shared log. Importing the package registers the
 * `redis://` and `rediss://` transport schemes with `@tidings/hub`, so
 * `tidings serve --transport redis://host:6379` works once it is installed.
 */
export {};
