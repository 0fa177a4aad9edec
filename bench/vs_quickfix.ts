// fixwire beside QuickFIX C++ (Debian's libquickfix), in the same run, on the same machine:
// an initiator and an acceptor in two processes over TCP on 127.0.0.1, each engine with its
// file store, NewOrderSingle -> ExecutionReport. QuickFIX runs our interop peer
// (tests/interop/peer) with no message log, no dictionary validation and no per-message output;
// fixwire runs bench/e2e.ts's pair with its file store, once with validation off (like for
// like) and once with its default validation on.
// Needs the peer built: bash tests/interop/setup.sh (installs g++ and libquickfix-dev).
// Run: deno run -A bench/vs_quickfix.ts [orders] [rounds]
import { fixwire } from "./e2e.ts";
import { freePort, type PeerEvent, QuickFixPeer } from "../tests/interop/peer_process.ts";

const N = Number(Deno.args[0] ?? 100_000);
const ROUNDS = Number(Deno.args[1] ?? 2);
const LAT = 2_000;

/** QuickFIX initiator -> QuickFIX acceptor: `LAT` single round trips, then `N` pipelined. */
async function quickfix(): Promise<{ perSec: number; rttUs: number }> {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const common = { beginString: "FIX.4.4", port } as const;
  const venue = new QuickFixPeer(
    { ...common, role: "acceptor", senderCompId: "V", targetCompId: "T", dir: `${dir}/v` },
    ["--quiet", "--no-log"],
  );
  const trader = new QuickFixPeer(
    { ...common, role: "initiator", senderCompId: "T", targetCompId: "V", dir: `${dir}/t` },
    ["--quiet", "--no-log"],
  );
  try {
    await venue.start();
    await venue.waitFor((e) => e.ev === "ready");
    await trader.start();
    await trader.waitFor((e) => e.ev === "logon", 15_000);
    const result = async (ev: string): Promise<PeerEvent> => {
      const e = await trader.waitFor((e) => e.ev === ev || e.ev === "error", 120_000);
      if (e.ev === "error" || !e.ok) throw new Error(`QuickFIX ${ev} failed: ${JSON.stringify(e)}`);
      return e;
    };
    await trader.send(`latency ${LAT}`);
    const latency = await result("latency");
    await trader.send(`bench ${N}`);
    const bench = await result("bench");
    return { perSec: N / (bench.us! / 1e6), rttUs: latency.us! };
  } finally {
    await trader.stop();
    await venue.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};

print(`orders=${N} pipelined, ${LAT} single round trips, ${ROUNDS} rounds alternating`);
const line = (name: string, x: { perSec: number; rttUs: number }) =>
  `${name} ${Math.round(x.perSec)}/s, median ${x.rttUs.toFixed(0)} us`;
const ratios = (x: { perSec: number; rttUs: number }, qf: { perSec: number; rttUs: number }) =>
  `x${(x.perSec / qf.perSec).toFixed(2)} throughput, x${
    (x.rttUs / qf.rttUs).toFixed(2)
  } round trip`;
for (let r = 1; r <= ROUNDS; r++) {
  const qf = await quickfix();
  const bare = await fixwire(N, LAT, ["--no-validation"]);
  const validated = await fixwire(N, LAT, []);
  print(`round ${r}: ${line("QuickFIX (no validation)", qf)}`);
  print(`  ${line("fixwire (no validation)", bare)}: ${ratios(bare, qf)} of QuickFIX`);
  print(`  ${line("fixwire (validation on)", validated)}: ${ratios(validated, qf)} of QuickFIX`);
}
