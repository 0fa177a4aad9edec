// A venue (acceptor) and a trader (initiator) on real sockets on 127.0.0.1, port 0, with the
// default file store in a temporary folder.
import type { Clock } from "../../src/clock.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import type { Transport } from "../../src/transport.ts";
import { Inbox } from "../engine/_waits.ts";

type Props = Record<string, string | number | boolean>;

/** Options of {@linkcode setup}. */
export interface SetupOptions {
  server?: Transport;
  client?: Transport;
  version?: FIXVersion;
  venueConfig?: Props;
  traderConfig?: Props;
  traderClock?: Clock;
  /** Builds the venue's answer to each order (default: a FIX.4.4 ExecutionReport). */
  report?: (order: FixMessage, n: number) => FixMessage;
}

/** What {@linkcode setup} gives. */
export interface Setup {
  server: FixEngine;
  client: FixEngine;
  venue: Session;
  trader: Session;
  port: number;
  /** Orders delivered to the venue. */
  orders: Inbox;
  /** Reports delivered to the trader. */
  reports: Inbox;
  /** Reports whose `put` resolved on the venue (persisted and handed to the connection). */
  sent: Inbox;
  dir: string;
  close(): Promise<void>;
}

/** A FIX.4.4 NewOrderSingle. */
export function order(i: number): FixMessage {
  return new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "1");
}

/** A FIX.4.4 ExecutionReport answering `o`. */
export function report(o: FixMessage, n: number): FixMessage {
  return new FixMessage("8").set(37, "o").set(17, `e${n}`).set(11, o.get(11)!)
    .set(150, "0").set(39, "0").set(55, "X").set(54, "1").set(151, 100).set(14, 0).set(6, 0);
}

/** Starts the venue (listening) and creates the trader (not connected). */
export async function setup(opts: SetupOptions = {}): Promise<Setup> {
  const dir = await Deno.makeTempDir();
  const server = new FixEngine({
    transport: opts.server,
    config: {
      ListenPort: 0,
      ListenAddress: "127.0.0.1",
      LogDirectory: `${dir}/venue`,
      ...opts.venueConfig,
    },
  });
  const client = new FixEngine({
    transport: opts.client,
    clock: opts.traderClock,
    config: {
      LogDirectory: `${dir}/trader`,
      "Reconnect.Interval": 20,
      "Reconnect.MaxTries": 20,
      ...opts.traderConfig,
    },
  });
  const version = opts.version ?? FIXVersion.FIX44;
  const answer = opts.report ?? report;
  const orders = new Inbox();
  const reports = new Inbox();
  const sent = new Inbox();
  const venue = server.createSession(new SessionId("VENUE", "TRADER"), "", version);
  venue.setListener({
    onMessage: async (m) => {
      orders.push(m);
      const r = answer(m, orders.messages.length);
      await venue.put(r);
      sent.push(r);
    },
  });
  await venue.connect();
  const trader = client.createSession(new SessionId("TRADER", "VENUE"), "", version);
  trader.setListener({ onMessage: reports.push });
  return {
    server,
    client,
    venue,
    trader,
    port: server.listenAddresses[0].port,
    orders,
    reports,
    sent,
    dir,
    close: async () => {
      await client.stop();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
