/**
 * TCP transport: `Deno.connect` / `Deno.listen`, with TCP_NODELAY on every connection.
 * The engine's default.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "@fixwire/engine/tcp";
 * const tcp = new TcpTransport();
 * const listener = await tcp.listen({ host: "127.0.0.1", port: 0 });
 * const client = await tcp.connect(listener.addr);
 * client.close();
 * listener.close();
 * ```
 *
 * @module
 */

import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "../src/transport.ts";
import type { Logger } from "../src/logger.ts";
import { growDescriptorTable } from "./_fd_table.ts";
import { connectWithSignal, DenoConnection, DenoListener } from "./_conn.ts";

/** Options of {@linkcode TcpTransport}. */
export interface TcpOptions {
  /**
   * Hears transient accept failures (too many open files...): listening goes on after a
   * back-off, and each failure is logged as a warning here.
   */
  logger?: Logger;
}

/**
 * Plain TCP.
 *
 * @example
 * ```ts
 * import { TcpTransport } from "@fixwire/engine/tcp";
 * const transport = new TcpTransport();
 * ```
 */
export class TcpTransport implements Transport {
  readonly #logger: Logger | undefined;

  /**
   * Creates a TCP transport.
   *
   * @param options The logger for accept failures.
   */
  constructor(options: TcpOptions = {}) {
    this.#logger = options.logger;
  }

  /**
   * Opens a TCP connection with TCP_NODELAY.
   *
   * @param endpoint Host and port.
   * @param options Abort signal.
   * @returns The connection.
   * @throws {ConnectionError} When the connection cannot be opened.
   */
  async connect(endpoint: Endpoint, options: ConnectOptions = {}): Promise<Connection> {
    const conn = await connectWithSignal(
      () => Deno.connect({ hostname: endpoint.host, port: endpoint.port }),
      `${endpoint.host}:${endpoint.port}`,
      options.signal,
    );
    conn.setNoDelay(true);
    return new DenoConnection(conn);
  }

  /**
   * Grows the process's file-descriptor table to hold `descriptors` at once (see
   * {@linkcode Transport.reserve}); needs read permission on `/dev/null`, else does nothing.
   *
   * @param descriptors Descriptors wanted open at once.
   * @returns Resolves when done; never rejects.
   */
  reserve(descriptors: number): Promise<void> {
    return growDescriptorTable(descriptors);
  }

  /**
   * Listens on a TCP port; accepted connections get TCP_NODELAY.
   *
   * @param endpoint Host and port (0 for any free port).
   * @returns The listener.
   */
  listen(endpoint: Endpoint): Promise<Listener> {
    const l = Deno.listen({ hostname: endpoint.host, port: endpoint.port });
    return Promise.resolve(
      new DenoListener(l, (c) => {
        (c as Deno.TcpConn).setNoDelay(true);
        return new DenoConnection(c);
      }, { onAcceptError: acceptErrorLogger(this.#logger) }),
    );
  }
}

/** Logs a transient accept failure (shared with the TLS transport). */
export function acceptErrorLogger(
  logger: Logger | undefined,
): ((error: unknown, retryInMs: number) => void) | undefined {
  if (!logger) return undefined;
  return (error, retryInMs) =>
    logger.warn("accept failed; listening goes on", { error: `${error}`, retryInMs });
}
