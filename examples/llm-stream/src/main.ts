import { localGenerator } from './local-generator.js';
import { upstreamFromEnvironment } from './openai-upstream.js';
import { createLlmServer } from './server.js';
import { storeFromEnvironment } from './store-from-environment.js';

const port = Number(process.env.PORT ?? 3003);
const host = process.env.HOST ?? '127.0.0.1';
const source = upstreamFromEnvironment(process.env, () => localGenerator());
const store = await storeFromEnvironment(process.env);
const server = createLlmServer({ source, ...(store ? { store } : {}) });
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`llm-stream example: open http://${host}:${actual}/`);
  console.log(`tokens from: ${source.description}`);
  console.log(`replies kept in: ${process.env.REDIS_URL ? 'Redis (REDIS_URL)' : 'memory'}`);
});

// Ctrl-C: replies still generating would keep the process alive until they end; nobody is
// left to read them here (with Redis, readers elsewhere get `failed` when the lease runs out).
process.once('SIGINT', () => {
  server.close(() => {
    void (store?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  server.closeAllConnections();
});
process.once('SIGTERM', () => process.emit('SIGINT'));
