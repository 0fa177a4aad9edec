// Load generator: N FIX sessions at HeartBtInt 1 s on one acceptor engine (this process), their
// initiators in a child process, over TCP on 127.0.0.1. Measures, on the acceptor engine: RSS,
// CPU (share of one core, from /proc/self/stat), and how late the sessions' timers (heartbeats,
// TestRequests) fired, from the sessions' own metrics. With --storm the initiators all connect in
// the same second, while one probe session measures round-trip stalls of established traffic.
//
// With --flood, one more peer logs on and sends TestRequests as fast as it can without ever
// reading: the probe's round trips show how long it delays the others. The probe is measured for
// `seconds` without the flood, then for `seconds` with it (same run): p50, p99 and max of each.
//
// Run: deno run -A bench/load.ts [sessions=1000] [seconds=20] [--storm] [--file] [--flood] [--pin]
//   --file   the default file store (in a temp folder) instead of memory stores
//   --pin    the initiators' process on the last core (taskset); run this one on the others, e.g.
//            taskset -c 0 deno run -A bench/load.ts 5000 2 --storm --pin
// Diagnosis: LOAD_DEBUG=1 prints progress; LOAD_PROFILE=out.cpuprofile profiles the measured
// phase (the logons with --storm); LOAD_TICKS=1 LOAD_DEBUG=1 lists the event loop's pauses over
// 4 ms (logons, measured phase) that were not the process waiting for a CPU, as
// "pause(preempted)@ms since the phase began"; LOAD_GAPS=out.json writes them for the profile;
// LOAD_HEAP=out.heapprofile samples the allocations of the logons still live after them;
// LOAD_SETTLE_MS sets the quiet time between registering the sessions and the storm (500).
// Needs enough file descriptors: ulimit -n above 2 x sessions + 100.
import {
  FixEngine,
  FixMessage,
  FIXVersion,
  MemorySeqStoreFactory,
  type Session,
  SessionId,
} from "../mod.ts";
import { onLastCore, runQueueWaitMs, watchLag } from "./_lag.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
/** When the CPU profile started (performance.now()), for LOAD_GAPS. */
let profileStartedAt = 0;
const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};

if (ARGS[0] === "initiators") {
  await initiators(Number(ARGS[1]), Number(ARGS[2]), SWITCHES.includes("--storm"));
} else {
  await main(Number(ARGS[0] ?? 1000), Number(ARGS[1] ?? 20));
}

function storeOptions() {
  return SWITCHES.includes("--file") ? {} : { storeFactory: new MemorySeqStoreFactory() };
}

/** The child: `n` initiators, all logging on (at once with --storm, else in waves of 200). */
async function initiators(n: number, port: number, storm: boolean): Promise<void> {
  const dir = await Deno.makeTempDir();
  const engine = new FixEngine({
    ...storeOptions(),
    config: { LogDirectory: dir, LogLevel: "error", "Reconnect.Interval": 1000 },
  });
  const sessions: Session[] = [];
  for (let i = 0; i < n; i++) {
    sessions.push(engine.createSession(new SessionId(`C${i}`, "VENUE"), "", FIXVersion.FIX44));
  }
  const t0 = performance.now();
  const wave = storm ? n : 200;
  for (let i = 0; i < n; i += wave) {
    const batch = sessions.slice(i, i + wave);
    for (const s of batch) await s.connect(1, "127.0.0.1", port);
    await Promise.all(
      batch.map((s) => s.waitFor("established", { signal: AbortSignal.timeout(60_000) })),
    );
  }
  print(`established ${n} in ${Math.round(performance.now() - t0)} ms`);
  // Runs until the parent closes our stdin; a line "flood" starts the flood, in this process so
  // that its work does not compete with the engine measured.
  for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    if (line.includes("flood")) startFlood(port);
  }
  await engine.stop();
  await Deno.remove(dir, { recursive: true });
}

function cpuTicks(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s)
}

async function main(n: number, seconds: number): Promise<void> {
  const dbg = (s: string) => Deno.env.get("LOAD_DEBUG") && print(`[debug] ${s}`);
  const storm = SWITCHES.includes("--storm");
  const dir = await Deno.makeTempDir();
  const engine = new FixEngine({
    ...storeOptions(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: dir, LogLevel: "error" },
  });
  const acceptors: Session[] = [];
  for (let i = 0; i < n; i++) {
    const s = engine.createSession(new SessionId("VENUE", `C${i}`), "", FIXVersion.FIX44);
    await s.connect();
    acceptors.push(s);
  }
  // A probe session: a second pair whose round trips measure how long established traffic stalls.
  const probeVenue = engine.createSession(new SessionId("VENUE", "PROBE"), "", FIXVersion.FIX44);
  probeVenue.setListener({
    onMessage: (m) =>
      void probeVenue.put(
        new FixMessage("8").set(37, "o").set(17, m.get(11)!).set(11, m.get(11)!).set(150, "0")
          .set(39, "0").set(55, "X").set(54, "1").set(151, 1).set(14, 0).set(6, 0),
      ),
  });
  await probeVenue.connect();
  const port = engine.listenAddresses[0].port;
  dbg(`listening on ${port}`);
  const probeEngine = new FixEngine({
    storeFactory: new MemorySeqStoreFactory(),
    config: { LogLevel: "error" },
  });
  const probe = probeEngine.createSession(new SessionId("PROBE", "VENUE"), "", FIXVersion.FIX44);
  let answered: (() => void) | undefined;
  probe.setListener({ onMessage: () => answered?.() });
  await probe.connect(30, "127.0.0.1", port);
  await probe.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  dbg("probe established");
  // Creating the sessions leaves the collector a major GC to finish (15 ms at 5,000): it runs
  // now, before the storm, not in the middle of the probe's first round trips.
  await new Promise((r) => setTimeout(r, Number(Deno.env.get("LOAD_SETTLE_MS") ?? 500)));
  const rssBefore = Deno.memoryUsage().rss;
  const flood = SWITCHES.includes("--flood");
  let floodVenue: Session | undefined;
  if (flood) {
    floodVenue = engine.createSession(new SessionId("VENUE", "FLOOD"), "", FIXVersion.FIX44);
    await floodVenue.connect();
  }

  // With --storm the profile covers the logons, else the steady phase.
  const profile = Deno.env.get("LOAD_PROFILE");
  const stormProfile = profile && storm ? await startProfile() : undefined;
  const heapFile = Deno.env.get("LOAD_HEAP");
  const heap = heapFile ? await startHeapSampling() : undefined;
  // --pin: the initiators on the last core (taskset), so that they do not take the engine's.
  const initiatorsCommand = onLastCore([
    Deno.execPath(),
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "initiators",
    String(n),
    String(port),
    ...SWITCHES,
  ], SWITCHES.includes("--pin"));
  const child = new Deno.Command(initiatorsCommand.name, {
    args: initiatorsCommand.args,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  // The time since the process started, to find the logons in a --v8-flags=--trace-gc log.
  dbg(`child spawned at ${Math.round(performance.now())} ms`);
  const stormTicks0 = cpuTicks();
  const childIn = child.stdin.getWriter();
  const stopStormTicks = storm ? watchTicks(Deno.env.get("LOAD_GAPS")) : undefined;
  const stormLag = storm ? watchLag() : undefined;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const t0 = performance.now();
  let stallMaxMs = 0;
  let rtts: RoundTrip[] = [];
  let probing = true;
  // Probe round trips while the sessions log on (a storm) and while they run.
  const probeLoop = (async () => {
    let i = 0;
    while (probing) {
      dbg(`probe ${i}`);
      const waited = runQueueWaitMs();
      const sent = performance.now();
      const got = new Promise<void>((r) => answered = r);
      await probe.put(
        new FixMessage("D").set(11, `p${i++}`).set(21, "1").set(55, "X").set(54, "1")
          .set(60, "20261124-10:00:00.000").set(38, 1).set(40, "1"),
      );
      await got;
      const rtt = { ms: performance.now() - sent, preemptedMs: runQueueWaitMs() - waited };
      rtts.push(rtt);
      if (rtt.ms > 10) {
        dbg(
          `probe stall @${Math.round(performance.now())} ${rtt.ms.toFixed(1)} ms (${
            rtt.preemptedMs.toFixed(1)
          } preempted)`,
        );
      }
      stallMaxMs = Math.max(stallMaxMs, rtt.ms);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  dbg("probe loop started");
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  const logonMs = performance.now() - t0;
  const logonCpu = (cpuTicks() - stormTicks0) / 100 / (logonMs / 1000);
  dbg(`logons done at ${Math.round(performance.now())} ms`);
  if (stopStormTicks) dbg(`logons: ${stopStormTicks()}`);
  const lagDuringLogons = stormLag?.();
  const up = acceptors.filter((s) => s.state === "established").length;
  const stallDuringLogons = stallMaxMs;
  const logonRtts = rtts;
  // Steady state: heartbeats every second on every session.
  for (const s of acceptors) {
    // Forget the logon period's lateness.
    (s.metrics as { timerLatenessMaxMs: number }).timerLatenessMaxMs = 0;
  }
  let quiet: RoundTrip[] = [];
  if (flood) {
    // The same probe without the flood first (after a second to settle), then with it.
    await new Promise((r) => setTimeout(r, 1000));
    rtts = [];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    quiet = rtts;
    await childIn.write(new TextEncoder().encode("flood\n"));
    const floodT0 = performance.now();
    dbg(`flood starts at ${Math.round(floodT0)}`);
    if (Deno.env.get("LOAD_DEBUG")) {
      const iv = setInterval(() => {
        const m = floodVenue!.metrics;
        dbg(`flood: ${floodVenue!.state}, in ${m.messagesIn}, queued ${floodVenue!.outgoingBytes}`);
      }, 1000);
      setTimeout(() => clearInterval(iv), seconds * 1000 + 500);
    }
    floodVenue!.waitFor("established", { signal: AbortSignal.timeout(10_000) }).then(() =>
      floodVenue!.waitFor("nonGracefullyTerminated")
    ).then(() =>
      print(`  flooder dropped ${Math.round(performance.now() - floodT0)} ms after the flood began`)
    ).catch(() => {});
  }
  rtts = [];
  stallMaxMs = 0;
  if (stormProfile) await stopProfile(stormProfile, profile!);
  if (heap) await stopHeapSampling(heap, heapFile!);
  const inspector = profile && !storm ? await startProfile() : undefined;
  // With --storm, LOAD_GAPS has the logons' pauses (the profile's phase).
  const stopTicks = watchTicks(storm ? undefined : Deno.env.get("LOAD_GAPS"));
  const ticks0 = cpuTicks();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = (cpuTicks() - ticks0) / 100 / ((performance.now() - w0) / 1000);
  const rss = Deno.memoryUsage().rss;
  let lateMax = 0, late100 = 0, heartbeatsOut = 0;
  for (const s of acceptors) {
    lateMax = Math.max(lateMax, s.metrics.timerLatenessMaxMs);
    if (s.metrics.timerLatenessMaxMs > 100) late100++;
    heartbeatsOut += s.metrics.messagesOut;
  }
  const steady = rtts;
  dbg(`${flood ? "flood" : "steady"}: ${stopTicks()}`);
  if (inspector) await stopProfile(inspector, profile!);
  probing = false;
  await probeLoop;
  print(`sessions ${n}${storm ? " (storm)" : ""}: ${up} established; child says: ${text.trim()}`);
  print(
    `  logons done after ${Math.round(logonMs)} ms (CPU ${
      (logonCpu * 100).toFixed(0)
    }% of a core); probe round-trip max during logons ${stallDuringLogons.toFixed(1)} ms`,
  );
  print(
    `  steady ${seconds} s: CPU ${(cpu * 100).toFixed(1)}% of a core, RSS ${
      (rss / 2 ** 20).toFixed(0)
    } MiB (before sessions ${(rssBefore / 2 ** 20).toFixed(0)} MiB)`,
  );
  print(
    `  timer lateness max ${lateMax} ms; sessions with a timer > 100 ms late: ${late100}; probe round-trip max ${
      stallMaxMs.toFixed(1)
    } ms; messages out ${heartbeatsOut}`,
  );
  if (storm) print(`  probe round trips during the logons: ${percentiles(logonRtts)}`);
  if (lagDuringLogons) {
    print(
      `  event loop during the logons (a 1 ms timer's lateness, which every session's traffic waits out too): max ${
        lagDuringLogons.maxMs.toFixed(1)
      } ms, own ${lagDuringLogons.ownMs.toFixed(1)} ms`,
    );
  }
  if (flood) print(`  probe round trips without the flood: ${percentiles(quiet)}`);
  print(`  probe round trips${flood ? " with the flood" : ""}: ${percentiles(steady)}`);
  if (steady.some((r) => r.preemptedMs > 0)) {
    const own = (rs: RoundTrip[]) => rs.map((r) => ({ ms: r.ms - r.preemptedMs, preemptedMs: 0 }));
    print("  the same less the time this process waited for a CPU (other processes ran):");
    if (storm) print(`    during the logons: ${percentiles(own(logonRtts))}`);
    if (flood) print(`    without the flood: ${percentiles(own(quiet))}`);
    print(`    ${flood ? "with the flood" : "steady"}: ${percentiles(own(steady))}`);
  }
  await childIn.close().catch(() => {});
  await child.status;
  await reader.cancel().catch(() => {});
  await probeEngine.stop();
  await engine.stop();
  await Deno.remove(dir, { recursive: true });
}

/** Starts the sampling heap profiler (LOAD_HEAP=file.heapprofile): what the logons retain. */
async function startHeapSampling(): Promise<import("node:inspector").Session> {
  const { Session } = await import("node:inspector");
  const s = new Session();
  s.connect();
  await new Promise((res, rej) =>
    s.post(
      "HeapProfiler.startSampling",
      { samplingInterval: 1024 },
      (e: Error | null, r: unknown) => e ? rej(e) : res(r),
    )
  );
  return s;
}

/** Collects garbage, then writes the live sampled allocations (a .heapprofile for DevTools). */
async function stopHeapSampling(s: import("node:inspector").Session, file: string): Promise<void> {
  await new Promise((res, rej) =>
    s.post("HeapProfiler.collectGarbage", {}, (e, r) => e ? rej(e) : res(r))
  );
  const r = await new Promise<{ profile: unknown }>((res, rej) =>
    s.post("HeapProfiler.stopSampling", {}, (e, r) => e ? rej(e) : res(r as { profile: unknown }))
  );
  Deno.writeTextFileSync(file, JSON.stringify(r.profile));
  s.disconnect();
}

/** Starts a CPU profile of this process (LOAD_PROFILE=file.cpuprofile). */
async function startProfile(): Promise<import("node:inspector").Session> {
  const { Session } = await import("node:inspector");
  const s = new Session();
  s.connect();
  const post = (m: string, p?: object) =>
    new Promise((res, rej) => s.post(m, p ?? {}, (e, r) => e ? rej(e) : res(r)));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 200 });
  await post("Profiler.start");
  profileStartedAt = performance.now();
  if (Deno.env.get("LOAD_DEBUG")) print(`[debug] profile started at ${profileStartedAt}`);
  return s;
}

async function stopProfile(s: import("node:inspector").Session, file: string): Promise<void> {
  const r = await new Promise<{ profile: unknown }>((res, rej) =>
    s.post("Profiler.stop", {}, (e, r) => e ? rej(e) : res(r as { profile: unknown }))
  );
  Deno.writeTextFileSync(file, JSON.stringify(r.profile));
  s.disconnect();
}

/**
 * With LOAD_TICKS, watches the event loop (an immediate per turn) for pauses over 4 ms that were
 * not the process waiting for a CPU; the returned function stops and lists them as
 * "pause(preempted)@ms since the watch began".
 */
function watchTicks(gapsFile: string | undefined): () => string {
  if (!Deno.env.get("LOAD_TICKS")) return () => "";
  const t0 = performance.now();
  let last = t0, lastWait = runQueueWaitMs(), ticks = 0, stop = false;
  const gaps: string[] = [];
  const spans: number[][] = [];
  const tick = () => {
    const t = performance.now();
    ticks++;
    if (t - last > 5) {
      const w = runQueueWaitMs();
      if (t - last - (w - lastWait) > 4) {
        gaps.push(`${Math.round(t - last)}(${Math.round(w - lastWait)})@${Math.round(t - t0)}`);
        spans.push([last, t, w - lastWait]);
      }
    }
    if (t - last > 5 || ticks % 16 === 0) lastWait = runQueueWaitMs();
    last = t;
    if (!stop) setImmediate(tick);
  };
  setImmediate(tick);
  return () => {
    stop = true;
    if (gapsFile) {
      Deno.writeTextFileSync(gapsFile, JSON.stringify({ profileStart: profileStartedAt, spans }));
    }
    return `${ticks} turns, own pauses over 4 ms: ${gaps.join(" ")}`;
  };
}

/** A probe round trip, and how long this thread waited for a CPU meanwhile, ms. */
interface RoundTrip {
  ms: number;
  preemptedMs: number;
}

/** p50, p99 and max of round trips, ms. */
function percentiles(rs: RoundTrip[]): string {
  const s = rs.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]?.toFixed(2);
  return `n ${s.length}, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** A peer that logs on, then floods TestRequests and never reads. */
function startFlood(port: number): void {
  const enc = (seq: number, type: string, extra: string) => {
    const ts = new Date().toISOString().replace(/-/g, "").replace("T", "-").slice(0, 21);
    const body = `35=${type}\x0149=FLOOD\x0156=VENUE\x0134=${seq}\x0152=${ts}\x01${extra}`;
    const head = `8=FIX.4.4\x019=${body.length}\x01${body}`;
    let sum = 0;
    for (let i = 0; i < head.length; i++) sum += head.charCodeAt(i);
    return `${head}10=${String(sum % 256).padStart(3, "0")}\x01`;
  };
  (async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const te = new TextEncoder();
    await conn.write(te.encode(enc(1, "A", "98=0\x01108=30\x01")));
    let seq = 2;
    try {
      for (;;) {
        let chunk = "";
        for (let i = 0; i < 200; i++) chunk += enc(seq++, "1", `112=${seq}\x01`);
        // A write may take only part of the bytes (the engine reads slower than we write).
        const bytes = te.encode(chunk);
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      }
    } catch {
      Deno.stderr.writeSync(te.encode(`flooder dropped after ${seq - 2} TestRequests\n`));
    }
  })();
}
