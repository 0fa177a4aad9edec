// A custom SessionsManager: the engine accepts Logons for sessions nobody registered
// (CreateUnregisteredAcceptorSession=true) and asks this manager, which admits only known
// counterparties and refuses everyone else with a reason.
//
// Run: deno run --allow-net --allow-read --allow-write examples/sessions_manager.ts
import { type AcceptorDecision, FixEngine, type SessionsManager } from "@fixwire/engine";

const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};
const known = new Map([["CLIENT1", "secret1"], ["CLIENT2", "secret2"]]);

const manager: SessionsManager = {
  onUnregisteredAcceptor: ({ sessionId, logon, remoteAddress }): AcceptorDecision => {
    const password = known.get(sessionId.target);
    if (password === undefined) {
      print(`refused ${sessionId.target} from ${remoteAddress}`);
      return { accept: false, reason: `Unknown counterparty ${sessionId.target}` };
    }
    print(`admitted ${sessionId} (Logon MsgSeqNum ${logon.get(34)})`);
    return {
      accept: true,
      settings: { password },
      listener: { onMessage: (m) => print(`${sessionId}: ${m.msgType}`) },
    };
  },
  onSessionCreated: (id) => print(`created ${id}`),
  onSessionDestroyed: (id) => print(`destroyed ${id}`),
};

await using engine = new FixEngine({
  config: {
    ListenPort: 8902,
    CreateUnregisteredAcceptorSession: true,
    LogDirectory: "./fixwire-store/manager",
  },
  sessionsManager: manager,
});
await engine.start();
print("accepting known counterparties on port 8902; type q to quit");
for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  if (line.trim() === "q") break;
}
