/**
 * TLS transport: `Deno.connectTls` / `Deno.listenTls` with a certificate and key for servers,
 * CA certificates and a server name for clients.
 *
 * @example
 * ```ts ignore
 * import { TlsTransport } from "@fixwire/engine/tls";
 * const server = new TlsTransport({ cert: Deno.readTextFileSync("server.pem"), key: Deno.readTextFileSync("server.key") });
 * const client = new TlsTransport({ caCerts: [Deno.readTextFileSync("ca.pem")], hostname: "localhost" });
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
import { acceptErrorLogger } from "./tcp.ts";

/** Options of {@linkcode TlsTransport}. */
export interface TlsOptions {
  /** PEM certificate chain (servers; clients with client authentication). */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** PEM CA certificates to verify the peer; the system roots when absent. */
  caCerts?: string[];
  /** Server name to verify and send as SNI (clients); defaults to the endpoint's host. */
  hostname?: string;
  /** Hears transient accept failures (listening goes on after a back-off). */
  logger?: Logger;
}

/**
 * TLS over TCP.
 *
 * @example
 * ```ts
 * import { TlsTransport } from "@fixwire/engine/tls";
 * const client = new TlsTransport({ hostname: "fix.example.com" });
 * ```
 */
export class TlsTransport implements Transport {
  readonly #o: TlsOptions;

  /**
   * Creates a TLS transport.
   *
   * @param options Certificates, key, CA and server name.
   */
  constructor(options: TlsOptions = {}) {
    this.#o = options;
  }

  /**
   * Opens a TLS connection and completes the handshake.
   *
   * @param endpoint Host and port.
   * @param options Abort signal.
   * @returns The connection.
   * @throws {ConnectionError} When the connection or the handshake fails.
   */
  async connect(endpoint: Endpoint, options: ConnectOptions = {}): Promise<Connection> {
    const where = `${endpoint.host}:${endpoint.port}`;
    const conn = await connectWithSignal(
      async () => {
        const c = await Deno.connectTls({
          hostname: this.#o.hostname ?? endpoint.host,
          port: endpoint.port,
          caCerts: this.#o.caCerts,
          ...(this.#o.cert && this.#o.key ? { cert: this.#o.cert, key: this.#o.key } : {}),
        });
        try {
          await c.handshake();
        } catch (e) {
          c.close();
          throw e;
        }
        return c;
      },
      where,
      options.signal,
    );
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
   * Listens for TLS connections.
   *
   * @param endpoint Host and port (0 for any free port).
   * @returns The listener.
   * @throws {TypeError} When no certificate and key were given.
   */
  listen(endpoint: Endpoint): Promise<Listener> {
    if (!this.#o.cert || !this.#o.key) {
      return Promise.reject(new TypeError("Cannot listen with TLS: cert and key are required"));
    }
    const l = Deno.listenTls({
      hostname: endpoint.host,
      port: endpoint.port,
      cert: this.#o.cert,
      key: this.#o.key,
    });
    return Promise.resolve(
      new DenoListener(l, (c) => new DenoConnection(c), {
        onAcceptError: acceptErrorLogger(this.#o.logger),
      }),
    );
  }
}
