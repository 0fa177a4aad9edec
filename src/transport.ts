/**
 * Transport ports: how bytes move. A transport knows nothing about FIX; framing lives in the
 * codec and reconnect policy in the initiator.
 *
 * @module
 */

/** Where to connect to or listen on. */
export interface Endpoint {
  /** Host name or IP address. */
  host: string;
  /** TCP port; 0 when listening picks a free port. */
  port: number;
}

/** Options for {@linkcode Transport.connect}. */
export interface ConnectOptions {
  /** Aborts the connect attempt; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Hears one read of a connection (see {@linkcode Connection.readInto}): the chunk, or the end.
 */
export interface ChunkSink {
  /**
   * Bytes arrived. The chunk is valid until the connection's next read: copy what is kept.
   *
   * @param chunk The bytes read.
   */
  onChunk(chunk: Uint8Array): void;
  /**
   * Nothing more will be read: the peer closed, the connection was closed, or a read failed
   * (the connection is closed then, its reason saying why).
   *
   * @param error What failed, when a read failed without closing the connection first.
   */
  onEnd(error?: unknown): void;
}

/** The close reason of a {@linkcode Connection} the peer closed in order (end of stream). */
export const PEER_CLOSED = "peer closed";

/**
 * One bidirectional byte stream.
 *
 * Inbound bytes are read by iterating the connection (one reader only), or one read at a time
 * with `readInto` where the connection offers it. `write` resolves when the bytes were accepted
 * by the underlying stream: that is the backpressure point. `closed` resolves with the close
 * reason and never rejects.
 */
export interface Connection extends AsyncIterable<Uint8Array>, AsyncDisposable {
  /** The local address, `host:port`. */
  readonly localAddr: string;
  /** The peer's address, `host:port`. */
  readonly remoteAddr: string;
  /** The peer's IP address, for allow-lists. */
  readonly remoteHost: string;
  /**
   * Writes bytes. Resolves when accepted; rejects with a `ConnectionError` once closed.
   *
   * @param bytes The bytes; the caller must not modify them until the promise settles.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Closes the connection. Idempotent.
   *
   * @param reason Why it was closed, reported by `closed`.
   */
  close(reason?: string): void;
  /**
   * Resolves with the reason once the connection is closed; never rejects. When the peer
   * closed in order (end of stream) the reason is {@linkcode PEER_CLOSED}: after answering the
   * peer's Logout, the engine takes only that as proof the peer read the answer (a peer closing
   * with bytes unread resets the connection instead).
   */
  readonly closed: Promise<string>;
  /**
   * Optional: reads the next chunk and hands it to `sink` (never during this call). The
   * engine reads this way when a connection offers it: no promise or iterator result per chunk
   * beyond the runtime's own read, and nothing kept per connection between reads but the sink.
   * One read at a time; it shares the iteration's buffer and position.
   *
   * @param sink Hears the chunk or the end.
   */
  readInto?(sink: ChunkSink): void;
}

/** Accepts inbound connections: an async iterable of connections. */
export interface Listener extends AsyncIterable<Connection>, AsyncDisposable {
  /** The address actually listened on (the real port when 0 was asked). */
  readonly addr: Endpoint;
  /** Stops listening. Idempotent. Connections already accepted stay open. */
  close(): void;
}

/** Opens and accepts connections: TCP, TLS or in-memory. */
export interface Transport {
  /**
   * Opens a connection.
   *
   * @param endpoint Where to connect.
   * @param options Abort signal.
   * @returns The open connection.
   * @throws {ConnectionError} When the connection cannot be opened.
   */
  connect(endpoint: Endpoint, options?: ConnectOptions): Promise<Connection>;
  /**
   * Starts listening.
   *
   * @param endpoint The address and port (0 for any free port).
   * @returns The listener.
   */
  listen(endpoint: Endpoint): Promise<Listener>;
  /**
   * Optional: makes room ahead of time for `descriptors` connections and files open at once.
   * The engine calls it as acceptors register and sessions first connect. The TCP and TLS
   * transports grow the process's file-descriptor table (Linux otherwise grows it during an
   * accept, which then waits 10-20 ms at 256, 512, 1024... descriptors, stalling every
   * session). Best effort; never rejects.
   *
   * @param descriptors Descriptors wanted open at once.
   * @returns Resolves when done.
   */
  reserve?(descriptors: number): Promise<void>;
}
