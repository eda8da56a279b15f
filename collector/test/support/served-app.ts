import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

/** Serves an app on a free port of 127.0.0.1; `close()` stops it. */
export async function serveOnFreePort(app: { fetch: (request: Request, env: never) => Response | Promise<Response> }) {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch as never, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
