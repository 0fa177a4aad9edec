// The parent side of the crash tests with a child process: an engine on memory stores whose
// acceptor PARENT->CHILD listens on 127.0.0.1 (port 0) and keeps the messages of one MsgType.
import {
  FixEngine,
  FixMessage,
  FIXVersion,
  MemorySeqStoreFactory,
  type Session,
  SessionId,
} from "../../mod.ts";
import { Inbox } from "../engine/_waits.ts";

/** The parent's engine, its acceptor session, what it received of `msgType`, and its port. */
export interface Parent {
  engine: FixEngine;
  session: Session;
  inbox: Inbox;
  port: string;
}

/**
 * Starts the parent's acceptor. The child's clock tolerance is the parent's too.
 *
 * @param msgType The MsgType the inbox keeps.
 * @returns The parent, listening.
 */
export async function parentAcceptor(msgType: string): Promise<Parent> {
  const engine = new FixEngine({
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", ReasonableDelayInMs: 600_000 },
  });
  const session = engine.createSession(new SessionId("PARENT", "CHILD"), "", FIXVersion.FIX44);
  const inbox = new Inbox();
  session.setListener({
    onMessage: (m) => {
      if (m.msgType === msgType) inbox.push(m);
    },
  });
  await session.connect();
  return { engine, session, inbox, port: String(engine.listenAddresses[0].port) };
}

/** A NewOrderSingle with ClOrdID `id`. */
export function order(id: string): FixMessage {
  return new FixMessage("D").set(11, id).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 1).set(40, "1");
}
