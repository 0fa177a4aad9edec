// Runs the QuickFIX counterparty (tests/interop/peer) as a child process, with a generated
// QuickFIX .cfg, and reads its JSON event lines.

/** One event line printed by the peer. */
export interface PeerEvent {
  ev: string;
  /** When this process read the event's line (epoch ms): for a failure's timeline. */
  at?: number;
  type?: string;
  seq?: number;
  possdup?: boolean;
  clordid?: string;
  text?: string;
  session?: string;
  gapfill?: string;
  newseqno?: string;
  reset?: string;
  /** The repeating groups of a message received, as QuickFIX parsed them (peer.cpp's groupsOf). */
  groups?: string;
  /** A message's EncodedText(355) as QuickFIX parsed it, in hex (peer.cpp's hexOf). */
  data?: string;
  count?: number;
  /** Microseconds, from the `bench` and `latency` commands. */
  us?: number;
  /** Round trip percentiles in microseconds, from the `latency` command. */
  p50?: number;
  p99?: number;
  p999?: number;
  ok?: boolean;
}

/** Options of a QuickFIX session config. */
export interface PeerConfig {
  role: "acceptor" | "initiator";
  beginString: "FIX.4.0" | "FIX.4.1" | "FIX.4.2" | "FIX.4.3" | "FIX.4.4" | "FIXT.1.1";
  senderCompId: string;
  targetCompId: string;
  port: number;
  dir: string;
  heartbeatSeconds?: number;
  resetOnLogon?: boolean;
  ssl?: { cert?: string; key?: string; ca?: string };
  /**
   * Validate every message received against the standard dictionaries (tests/interop/spec, the
   * QuickFIX-format specifications): required fields, values, types, field order, repeating
   * groups. What fails is answered with a Reject or a BusinessMessageReject, which the tests look
   * for. Off (UseDataDictionary=N) for the benchmarks, like for like with fixwire's.
   */
  dictionary?: boolean;
  /** A daily session time (QuickFIX's `StartTime`/`EndTime`, UTC); default: non-stop. */
  schedule?: { start: string; end: string };
  /** More sessions of the same BeginString on the same port, by CompIDs: one process, many sessions. */
  moreSessions?: { senderCompId: string; targetCompId: string }[];
}

/** The QuickFIX-format FIX specifications the peer validates against (copied from QuickFIX's). */
export const SPEC_XML_DIR: string = new URL("./spec/", import.meta.url).pathname;

/** A QuickFIX .cfg for one session. */
export function quickfixConfig(o: PeerConfig): string {
  const lines = [
    "[DEFAULT]",
    `ConnectionType=${o.role}`,
    `FileStorePath=${o.dir}/store`,
    `FileLogPath=${o.dir}/log`,
    ...(o.schedule
      ? [`StartTime=${o.schedule.start}`, `EndTime=${o.schedule.end}`]
      : ["StartTime=00:00:00", "EndTime=00:00:00", "NonStopSession=Y"]),
    `HeartBtInt=${o.heartbeatSeconds ?? 30}`,
    "ReconnectInterval=1",
    ...(o.dictionary
      ? [
        "UseDataDictionary=Y",
        "ValidateFieldsOutOfOrder=Y",
        "ValidateFieldsHaveValues=Y",
        "ValidateUserDefinedFields=Y",
        "AllowUnknownMsgFields=N",
      ]
      : ["UseDataDictionary=N", "ValidateUserDefinedFields=N"]),
    "CheckLatency=N",
    `ResetOnLogon=${o.resetOnLogon ? "Y" : "N"}`,
    "SocketReuseAddress=Y",
    "SocketNodelay=Y",
    "PersistMessages=Y",
  ];
  if (o.ssl) {
    lines.push("SSLProtocol=+TLSv1.2 +TLSv1.3");
    if (o.ssl.cert) lines.push(`ServerCertificateFile=${o.ssl.cert}`);
    if (o.ssl.key) lines.push(`ServerCertificateKeyFile=${o.ssl.key}`);
    if (o.ssl.ca) lines.push(`CertificationAuthoritiesFile=${o.ssl.ca}`);
    lines.push("CertificateVerifyLevel=0");
  }
  for (const ids of [o, ...(o.moreSessions ?? [])]) {
    lines.push(
      "",
      "[SESSION]",
      `BeginString=${o.beginString}`,
      `SenderCompID=${ids.senderCompId}`,
      `TargetCompID=${ids.targetCompId}`,
    );
    if (o.beginString === "FIXT.1.1") lines.push("DefaultApplVerID=FIX.5.0SP2");
    if (o.dictionary && o.beginString === "FIXT.1.1") {
      lines.push(
        `TransportDataDictionary=${SPEC_XML_DIR}FIXT11.xml`,
        `AppDataDictionary=${SPEC_XML_DIR}FIX50SP2.xml`,
      );
    } else if (o.dictionary) {
      lines.push(`DataDictionary=${SPEC_XML_DIR}${o.beginString.replaceAll(".", "")}.xml`);
    }
    if (o.role === "acceptor") lines.push(`SocketAcceptPort=${o.port}`);
    else lines.push("SocketConnectHost=127.0.0.1", `SocketConnectPort=${o.port}`);
  }
  return lines.join("\n") + "\n";
}

/** The built peer binary. */
export const PEER_BINARY = new URL("./peer/build/peer", import.meta.url).pathname;

/** Options of {@linkcode QuickFixPeer} beyond its session config. */
export interface PeerOptions {
  /** A command the peer runs under, e.g. `["taskset", "-c", "0"]` to pin it to one core. */
  launcher?: string[];
}

/** A running QuickFIX peer. */
export class QuickFixPeer implements AsyncDisposable {
  readonly events: PeerEvent[] = [];
  readonly config: PeerConfig;
  #child: Deno.ChildProcess | undefined;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #reading: Promise<void> | undefined;
  #waiters = new Set<() => void>();
  #extraArgs: string[];
  #launcher: string[];

  constructor(config: PeerConfig, extraArgs: string[] = [], options: PeerOptions = {}) {
    this.config = config;
    this.#extraArgs = extraArgs;
    this.#launcher = options.launcher ?? [];
  }

  /** Every peer started in this process, in the order of their first start. */
  static readonly started: QuickFixPeer[] = [];

  /** Starts (or restarts) the process; its file store persists in `config.dir`. */
  async start(): Promise<void> {
    if (!QuickFixPeer.started.includes(this)) QuickFixPeer.started.push(this);
    await Deno.mkdir(this.config.dir, { recursive: true });
    const cfg = `${this.config.dir}/peer.cfg`;
    await Deno.writeTextFile(cfg, quickfixConfig(this.config));
    const args = ["--config", cfg, "--role", this.config.role, ...this.#extraArgs];
    if (this.config.ssl) args.push("--ssl");
    const [command, ...launcherArgs] = [...this.#launcher, PEER_BINARY];
    this.#child = new Deno.Command(command, {
      args: [...launcherArgs, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout.pipeThrough(new TextDecoderStream());
    this.#reading = (async () => {
      let buf = "";
      for await (const chunk of stdout) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const at = Date.now();
          try {
            this.events.push({ ...JSON.parse(line), at });
          } catch {
            this.events.push({ ev: "unparsed", text: line, at });
          }
          for (const w of this.#waiters) w();
        }
      }
    })();
    await this.waitFor((e) => e.ev === "ready" || e.ev === "fatal", 10_000, this.events.length);
    if (this.events.some((e) => e.ev === "fatal")) {
      throw new Error(`QuickFIX peer failed: ${JSON.stringify(this.events.at(-1))}`);
    }
  }

  /** Waits, woken by each new event line, until `done()` holds; throws `what()` after `ms`. */
  async #until(done: () => boolean, ms: number, what: () => string): Promise<void> {
    const signal = AbortSignal.timeout(ms);
    while (!done()) {
      if (signal.aborted) throw new Error(what());
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
  }

  /** Waits until an event (from index `from`) matches. */
  async waitFor(pred: (e: PeerEvent) => boolean, ms = 15_000, from = 0): Promise<PeerEvent> {
    let found: PeerEvent | undefined;
    await this.#until(
      () => (found = this.events.slice(from).find(pred)) !== undefined,
      ms,
      () =>
        `Timed out waiting for a QuickFIX event; last: ${JSON.stringify(this.events.slice(-3))}`,
    );
    return found!;
  }

  /** Waits until `count` events match. */
  async waitForCount(pred: (e: PeerEvent) => boolean, count: number, ms = 30_000): Promise<void> {
    await this.#until(
      () => this.events.filter(pred).length >= count,
      ms,
      () => `Timed out: ${this.events.filter(pred).length}/${count} events`,
    );
  }

  /**
   * Waits until every event the peer printed before now has been read: it is asked for an empty
   * batch of orders (`orders 0`), whose `sent` line it prints after them. What fixwire saw of the
   * peer (a message it answered) says nothing of when the peer's own line about it is read here.
   */
  async caughtUp(ms = 15_000): Promise<void> {
    const from = this.events.length;
    await this.send("orders 0 sync");
    await this.waitFor((e) => e.ev === "sent" && e.count === 0, ms, from);
  }

  /** Sends a command line. */
  async send(line: string): Promise<void> {
    await this.#stdin!.write(new TextEncoder().encode(line + "\n"));
  }

  /** Sends the process a signal (`SIGSTOP` freezes it, `SIGCONT` resumes it). */
  signal(signal: Deno.Signal): void {
    this.#child?.kill(signal);
  }

  /** Kills the process with SIGKILL. */
  async kill(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#finish();
  }

  /** Asks the process to quit and waits. */
  async stop(): Promise<void> {
    if (!this.#child) return;
    try {
      await this.send("quit");
    } catch {
      // Already closed.
    }
    const t = setTimeout(() => {
      try {
        this.#child?.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 5000);
    await this.#finish();
    clearTimeout(t);
  }

  async #finish(): Promise<void> {
    const child = this.#child!;
    this.#child = undefined;
    await this.#stdin?.close().catch(() => {});
    await child.status;
    await this.#reading;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
