// TLS: an acceptor and an initiator in one process over TLS on 127.0.0.1, using the test CA
// and leaf certificate in tests/fixtures/tls (see its README for the openssl commands).
//
// Run: deno run --allow-net --allow-read --allow-write examples/tls.ts
import { FixEngine, FixMessage, FIXVersion, MsgType, SessionId, Tag } from "../mod.ts";
import { TlsTransport } from "../adapters/tls.ts";
import { MemorySeqStoreFactory } from "../src/store.ts";

const fixtures = new URL("../tests/fixtures/tls/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, fixtures));
const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};

await using server = new FixEngine({
  transport: new TlsTransport({ cert: read("server.pem"), key: read("server.key") }),
  storeFactory: new MemorySeqStoreFactory(),
  config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
});
await using client = new FixEngine({
  transport: new TlsTransport({ caCerts: [read("ca.pem")], hostname: "localhost" }),
  storeFactory: new MemorySeqStoreFactory(),
});
const acceptor = server.createSession(new SessionId("TEST2", "TEST1"), "FIX44", FIXVersion.FIX44);
const received = Promise.withResolvers<FixMessage>();
acceptor.setListener({ onMessage: (m) => received.resolve(m) });
await acceptor.connect();
const initiator = client.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
await initiator.connect(30, "localhost", server.listenAddresses[0].port);
await initiator.waitFor("established", { signal: AbortSignal.timeout(10_000) });
await initiator.put(
  new FixMessage(MsgType.NewOrderSingle).set(Tag.ClOrdID, "tls-1")
    .set(Tag.HandlInst, "1").set(Tag.Symbol, "EUR/USD").set(Tag.Side, "1")
    .setUtcTimestamp(Tag.TransactTime, Date.now()).set(Tag.OrdType, "1").set(Tag.OrderQty, 1),
);
const m = await received.promise;
print(`received over TLS: ClOrdID=${m.get(Tag.ClOrdID)}`);
await initiator.disconnect("done");
