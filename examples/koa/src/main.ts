import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3002);
const host = process.env.HOST ?? '127.0.0.1';
const server = createApp().listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`koa example: open http://${host}:${actual}/ (event stream at /sse)`);
});

process.once('SIGINT', () => {
  server.close();
  server.closeAllConnections();
});
process.once('SIGTERM', () => process.emit('SIGINT'));
