/**
 * One instance of a small news app; start as many as you like on one Redis:
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3001 node dist/main.js
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3002 node dist/main.js
 *
 * `GET /events` is the event stream, `POST /news` (JSON `{"title": "..."}`) publishes. A
 * headline posted to either instance reaches the clients of both, and a client that loses its
 * instance resumes on the other with its `Last-Event-ID`.
 */
import { RedisChannel } from '@tidings/redis';
import { sse } from '@tidings/server/express';
import express from 'express';

type NewsEvents = {
  headline: { title: string };
};

const channel = await RedisChannel.open<NewsEvents>({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  name: 'news',
});

const app = express();
app.get(
  '/events',
  sse<NewsEvents>((stream) => channel.subscribe(stream)),
);
app.post('/news', express.json(), async (req, res) => {
  const title: unknown = req.body?.title;
  if (typeof title !== 'string' || title === '') {
    res.status(400).json({ error: 'send JSON {"title": "..."} with a non-empty title' });
    return;
  }
  try {
    const { id } = await channel.publish({ event: 'headline', data: { title } });
    res.status(201).json({ id });
  } catch (error) {
    // Redis is unreachable: nothing was kept; the client may try again shortly.
    res
      .status(503)
      .set('Retry-After', '1')
      .json({ error: (error as Error).message });
  }
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`news instance listening on http://127.0.0.1:${port}`);
});

const shutdown = () => {
  server.close();
  server.closeAllConnections();
  void channel.close().then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
