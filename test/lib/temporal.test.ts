import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTemporal } from '../../lib/temporal';
import { testConfig } from '../helpers';

/** A TCP proxy in front of the real Temporal server that can cut every connection. */
async function cuttableProxy(target: string) {
  const [host, port] = target.split(':');
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(Number(port), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cutAll() {
      cut = true;
      sockets.forEach((socket) => socket.destroy());
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('closing a Temporal connection', () => {
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  afterEach(() => {
    process.off('uncaughtException', record);
  });

  it('while a failing call waits to be retried throws nothing afterwards, and the call fails', async () => {
    process.on('uncaughtException', record);
    const proxy = await cuttableProxy(testConfig().temporal.address);
    try {
      const connection = await connectTemporal(proxy.address);
      proxy.cutAll();
      const call = connection.workflowService.getSystemInfo({}).then(
        () => 'answered',
        () => 'failed',
      );
      // The first attempt fails at once; the SDK schedules its retry ~200 ms later.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await connection.close();
      const late = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3_000));
      expect(await Promise.race([call, late])).toBe('failed');
      // Longer than any retry the SDK could still have had scheduled.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
