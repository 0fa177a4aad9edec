// A logon storm against the runtime's floor, in one run: rounds alternate between the storm of
// bench/load.ts (5,000 fixwire initiators in a child process connecting at once to one engine,
// while a probe session makes a round trip every 5 ms) and the same storm against a bare Deno
// TCP server. The bare server accepts, reads each connection's Logon and answers it with a
// Logon of its own (no session, store, timer or validation), then reads and drops what follows;
// its probe is a 100-byte ping-pong every 5 ms over a connection to the same listener. Printed
// per round and as medians: the probe's worst round trip during the logons, and the same less
// the time the measuring thread waited for a CPU ("own": the child competes for the 2 cores).
//
// Run: deno run -A bench/storm.ts [sessions=5000] [rounds=5] [--pin]
//      deno run -A bench/storm.ts raw [sessions]   (one bare round, as the rounds run it)
//   --pin  the initiators on the machine's last core; run this with taskset -c 0, e.g.
//          taskset -c 0 deno run -A bench/storm.ts 5000 4 --pin
// Needs enough file descriptors: ulimit -n above 2 x sessions + 100.
import { encodeMessage, FixMessage, formatUtcTimestamp } from "../mod.ts";
import { onLastCore, runQueueWaitMs, watchLag } from "./_lag.ts";

const RAW = Deno.args[0] === "raw";
/** --pin: the initiators on the machine's last core (run this with `taskset -c 0`). */
const PIN = Deno.args.includes("--pin");
const ARGS = (RAW ? Deno.args.slice(1) : Deno.args).filter((a) => a !== "--pin");
const n = Number(ARGS[0] ?? 5000);
const rounds = Number(ARGS[1] ?? 5);
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};

const SOH = 1;
/** Index just past the first whole frame's `10=xxx<SOH>`, or -1. */
function frameEnd(b: Uint8Array, len: number): number {
  for (let i = 0; i + 7 < len; i++) {
    if (b[i] === SOH && b[i + 1] === 0x31 && b[i + 2] === 0x30 && b[i + 3] === 0x3d) {
      return b[i + 7] === SOH ? i + 8 : -1;
    }
  }
  return -1;
}

/** The value of `tag=` in a frame's text. */
function field(text: string, tag: string): string {
  const at = text.indexOf(`\x01${tag}=`) + tag.length + 2;
  return text.slice(at, text.indexOf("\x01", at));
}

const PING = new Uint8Array(100).fill(0x50);

async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  let len = 0;
  try {
    while (true) {
      const r = await conn.read(buf.subarray(len));
      if (r === null) return;
      len += r;
      if (buf[0] === 0x50) {
        // The probe: echoes each ping.
        while (len >= 100) {
          await conn.write(PING);
          buf.copyWithin(0, 100, len);
          len -= 100;
        }
        continue;
      }
      const end = frameEnd(buf, len);
      if (end > 0) break;
    }
    (conn as Deno.TcpConn).setNoDelay(true);
    const text = new TextDecoder().decode(buf.subarray(0, len));
    const answer = new FixMessage("A").set(49, field(text, "56")).set(56, field(text, "49"))
      .set(34, 1).set(52, formatUtcTimestamp(Date.now())).set(98, 0).set(108, 1);
    await conn.write(encodeMessage(answer, "FIX.4.4"));
    // Reads and drops what follows (heartbeats), for as long as the peer stays.
    while ((await conn.read(buf)) !== null) { /* dropped */ }
  } catch {
    // The peer left.
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

if (RAW) await rawRound();
else await alternate();

/** A storm's worst figures, ms: the probe's round trip and the event loop's lateness. */
interface Worst {
  max: number;
  own: number;
  lag: number;
  lagOwn: number;
}

/** Runs one storm in a child and reads its worst figures from what it prints. */
async function worst(args: string[]): Promise<Worst> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const maxes = [
    ...text.matchAll(/during the logons: n \d+, p50 \S+ ms, p99 \S+ ms, max (\S+) ms/g),
  ].map((m) => Number(m[1]));
  const own = text.match(/less the time this thread waited for a CPU: .* max (\S+) ms/);
  if (own) maxes.push(Number(own[1]));
  const lag = text.match(/event loop during the logons.*: max (\S+) ms, own (\S+) ms/);
  if (maxes.length === 0 || !lag) throw new Error(`no figures in:\n${text}`);
  // No line less the waits when the thread never waited.
  return { max: maxes[0], own: maxes[1] ?? maxes[0], lag: Number(lag[1]), lagOwn: Number(lag[2]) };
}

async function alternate(): Promise<void> {
  const here = new URL(import.meta.url).pathname;
  const load = new URL("./load.ts", import.meta.url).pathname;
  const engine: Worst[] = [];
  const bare: Worst[] = [];
  print(`${n} Logons at once, ${rounds} alternated rounds; the worst during the logons, ms:`);
  print("the probe's round trip (max / own) and a 1 ms timer's lateness (max / own)");
  print("round | fixwire round trip | fixwire lateness | bare round trip | bare lateness");
  const two = (a: number, b: number) => `${a.toFixed(1)} / ${b.toFixed(1)}`;
  for (let r = 1; r <= rounds; r++) {
    const pin = PIN ? ["--pin"] : [];
    const f = await worst(["run", "-A", load, String(n), "2", "--storm", ...pin]);
    const b = await worst(["run", "-A", here, "raw", String(n), ...pin]);
    engine.push(f);
    bare.push(b);
    print(
      `${r} | ${two(f.max, f.own)} | ${two(f.lag, f.lagOwn)} | ${two(b.max, b.own)} | ${
        two(b.lag, b.lagOwn)
      }`,
    );
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const stat = (xs: number[]) =>
    `${med(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
  const row = (name: string, xs: Worst[]) =>
    print(
      `${name} medians: round trip ${stat(xs.map((x) => x.max))}, own ${
        stat(xs.map((x) => x.own))
      }; lateness ${stat(xs.map((x) => x.lag))}, own ${stat(xs.map((x) => x.lagOwn))}`,
    );
  row("fixwire", engine);
  row("bare Deno", bare);
}

/** One storm against the bare server; prints its lines. */
async function rawRound(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  (async () => {
    for await (const conn of listener) serve(conn);
  })().catch(() => {});
  const probe = await Deno.connect({ hostname: "127.0.0.1", port });
  probe.setNoDelay(true);
  const pong = new Uint8Array(100);
  const pingPong = async (): Promise<void> => {
    await probe.write(PING);
    let got = 0;
    while (got < 100) {
      const r = await probe.read(pong.subarray(got));
      if (r === null) throw new Error("probe closed");
      got += r;
    }
  };
  for (let i = 0; i < 100; i++) await pingPong();
  await new Promise((r) => setTimeout(r, 500));
  const initiators = onLastCore([
    Deno.execPath(),
    "run",
    "-A",
    new URL("./load.ts", import.meta.url).pathname,
    "initiators",
    String(n),
    String(port),
    "--storm",
  ], PIN);
  const child = new Deno.Command(initiators.name, {
    args: initiators.args,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const t0 = performance.now();
  const lag = watchLag();
  const rtts: { ms: number; preemptedMs: number }[] = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const waited = runQueueWaitMs();
      const sent = performance.now();
      await pingPong();
      rtts.push({ ms: performance.now() - sent, preemptedMs: runQueueWaitMs() - waited });
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  const logonMs = performance.now() - t0;
  const lagged = lag();
  probing = false;
  await probeLoop;
  await child.stdin.close();
  await child.status;
  await reader.cancel().catch(() => {});
  probe.close();
  listener.close();
  const pct = (xs: number[]) => {
    const s = xs.sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2);
    return `n ${s.length}, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
  };
  print(
    `raw server, ${n} logons (child says: ${text.trim()}), done after ${Math.round(logonMs)} ms`,
  );
  print(`  probe round trips during the logons: ${pct(rtts.map((r) => r.ms))}`);
  print(
    `    less the time this thread waited for a CPU: ${pct(rtts.map((r) => r.ms - r.preemptedMs))}`,
  );
  print(
    `  event loop during the logons (a 1 ms timer's lateness): max ${
      lagged.maxMs.toFixed(1)
    } ms, own ${lagged.ownMs.toFixed(1)} ms`,
  );
}
