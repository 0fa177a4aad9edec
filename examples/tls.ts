// TLS: an acceptor and an initiator in one process over TLS on 127.0.0.1.
//
// Run: deno run --allow-net --allow-read --allow-write --allow-run examples/tls.ts [<dir>]
//
// <dir> holds ca.pem (the CA the client trusts), server.pem (the server's certificate, signed by
// that CA, for the name "localhost") and server.key. Without it, a throwaway CA and server
// certificate are made in a temporary folder with openssl (Deno's TLS client refuses a
// self-signed server certificate: it must be signed by a CA).
import {
  FixEngine,
  type FixMessage,
  FIXVersion,
  MemorySeqStoreFactory,
  SessionId,
  Tag,
} from "@fixwire/engine";
import { newOrderSingle } from "@fixwire/engine/fix44";
import { TlsTransport } from "@fixwire/engine/tls";

/** Makes a CA and a server certificate it signed, for localhost; returns their folder. */
async function throwawayCertificates(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const subject = (cn: string) => ["-subj", `/CN=${cn}`];
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    ...subject("fixwire example CA"),
  );
  await openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    ...subject("localhost"),
  );
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  );
  return dir;
}

const dir = Deno.args[0] ?? await throwawayCertificates();
const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);
const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};

await using server = new FixEngine({
  // The default logger writes timestamped lines to stderr; this example shows warnings only.
  transport: new TlsTransport({ cert: read("server.pem"), key: read("server.key") }),
  storeFactory: new MemorySeqStoreFactory(),
  config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogLevel: "warn" },
});
await using client = new FixEngine({
  transport: new TlsTransport({ caCerts: [read("ca.pem")], hostname: "localhost" }),
  storeFactory: new MemorySeqStoreFactory(),
  config: { LogLevel: "warn" },
});
const acceptor = server.createSession(new SessionId("TEST2", "TEST1"), "FIX44", FIXVersion.FIX44);
const received = Promise.withResolvers<FixMessage>();
acceptor.setListener({ onMessage: (m) => received.resolve(m) });
await acceptor.connect();
const initiator = client.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
await initiator.connect(30, "localhost", server.listenAddresses[0].port);
await initiator.waitFor("established", { signal: AbortSignal.timeout(10_000) });
await initiator.put(newOrderSingle({
  clOrdID: "tls-1",
  handlInst: "1",
  symbol: "EUR/USD",
  side: "1",
  transactTime: new Date(),
  orderQty: 1,
  ordType: "1",
}));
const m = await received.promise;
print(`received over TLS: ClOrdID=${m.get(Tag.ClOrdID)}`);
await initiator.disconnect("done");
if (Deno.args[0] === undefined) await Deno.remove(dir, { recursive: true });
