import { localGenerator } from './local-generator.js';
import { upstreamFromEnvironment } from './openai-upstream.js';
import { createLlmServer } from './server.js';

const port = Number(process.env.PORT ?? 3003);
const host = process.env.HOST ?? '127.0.0.1';
const source = upstreamFromEnvironment(process.env, () => localGenerator());
const server = createLlmServer({ source });
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`llm-stream example: open http://${host}:${actual}/`);
  console.log(`tokens from: ${source.description}`);
});

// Ctrl-C: replies still generating would keep the process alive until they end; nobody is
// left to read them.
process.once('SIGINT', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
process.once('SIGTERM', () => process.emit('SIGINT'));
