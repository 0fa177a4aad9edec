// Test helper: an acceptor engine and an initiator engine over one transport, memory stores.
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import type { Logger } from "../../src/logger.ts";
import type { SessionSettings } from "../../src/config/settings.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import type { Transport } from "../../src/transport.ts";
import { Inbox } from "./_waits.ts";

/** Two engines, their sessions (not connected yet) and what the acceptor received. */
export interface EnginePair {
  acceptorEngine: FixEngine;
  /** ACC-INI, registered; its messages go to `received`. */
  acceptor: Session;
  initiatorEngine: FixEngine;
  /** INI-ACC. */
  initiator: Session;
  received: Inbox;
  /** The acceptor engine's port. */
  port: number;
  /** Stops both engines. */
  stop(): Promise<void>;
}

/** What differs between the pairs the tests need. */
export interface EnginePairOptions {
  /** The acceptor engine's logger (default: the engine's). */
  acceptorLogger?: Logger;
  /** The initiator engine's logger (default: the engine's). */
  initiatorLogger?: Logger;
  /** More configuration for the acceptor engine (it listens on 127.0.0.1, port 0). */
  acceptorConfig?: Record<string, string | number | boolean>;
  /** Configuration for the initiator engine. */
  initiatorConfig?: Record<string, string | number | boolean>;
  /** Settings of both sessions (credentials, for one). */
  settings?: Partial<SessionSettings>;
}

/**
 * Registers ACC-INI on an acceptor engine listening on 127.0.0.1 and creates INI-ACC on an
 * initiator engine, both over `transport` (FIX.4.4).
 *
 * @param transport Shared by both engines.
 * @param options Loggers, configuration and session settings.
 */
export async function enginePair(
  transport: Transport,
  options: EnginePairOptions = {},
): Promise<EnginePair> {
  const acceptorEngine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", ...options.acceptorConfig },
    logger: options.acceptorLogger,
  });
  const received = new Inbox();
  const sessionOptions = { settings: options.settings };
  const acceptor = acceptorEngine.createSession(
    new SessionId("ACC", "INI"),
    "",
    FIXVersion.FIX44,
    sessionOptions,
  );
  acceptor.setListener({ onMessage: received.push });
  await acceptor.connect();
  const initiatorEngine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: options.initiatorConfig,
    logger: options.initiatorLogger,
  });
  const initiator = initiatorEngine.createSession(
    new SessionId("INI", "ACC"),
    "",
    FIXVersion.FIX44,
    sessionOptions,
  );
  return {
    acceptorEngine,
    acceptor,
    initiatorEngine,
    initiator,
    received,
    port: acceptorEngine.listenAddresses[0].port,
    stop: async () => {
      await initiatorEngine.stop();
      await acceptorEngine.stop();
    },
  };
}

/** A NewOrderSingle with ClOrdID `id`. */
export function order(id: string): FixMessage {
  return new FixMessage("D").set(11, id).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "1");
}
