import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy whose connections can be cut, standing in for a database that goes away. */
export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** Destroys every proxied connection and refuses new ones until `restore()`. */
  cut(): void;
  /** Accepts and forwards connections again. */
  restore(): void;
  /** Connections opened through the proxy so far. */
  readonly connectionsOpened: number;
  /** Connections refused while cut. */
  readonly connectionsRefused: number;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:<port> to `target`; `cut()` makes Postgres look unreachable to whoever
 * connects through it, without touching the Postgres server others are using.
 *
 * @example
 * const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
 * proxy.cut(); await sleep(3000); proxy.restore();
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let opened = 0;
  let refused = 0;

  const server: Server = createServer((client) => {
    if (refusing) {
      refused += 1;
      client.destroy();
      return;
    }
    opened += 1;
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  return {
    port: address.port,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      refusing = false;
    },
    get connectionsOpened() {
      return opened;
    },
    get connectionsRefused() {
      return refused;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
