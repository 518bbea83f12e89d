import { createClockServer } from './server.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const server = createClockServer();
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`clock example: open http://${host}:${actual}/ (event stream at /clock)`);
});

// Ctrl-C: stop accepting, and end the open streams with the process.
process.once('SIGINT', () => {
  server.close();
  server.closeAllConnections();
});
process.once('SIGTERM', () => process.emit('SIGINT'));
