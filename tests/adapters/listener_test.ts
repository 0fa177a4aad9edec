// A listener that hits a transient accept error (too many open files) keeps accepting after a
// back-off, and says so; it ends only when closed.
import assert from "node:assert/strict";
import { DenoListener } from "../../adapters/_conn.ts";
import type { Connection } from "../../src/transport.ts";

/** A Deno.Listener whose accept() follows a script: errors, then connections, then closed. */
function scriptedListener(script: (Error | "conn")[]): Deno.Listener {
  let closed = false;
  let wake: (() => void) | undefined;
  const fakeConn = { close() {} } as unknown as Deno.Conn;
  return {
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr,
    accept(): Promise<Deno.Conn> {
      const step = script.shift();
      if (closed || step === undefined) {
        return new Promise((_, reject) => {
          const fail = () => reject(new Deno.errors.BadResource("listener closed"));
          if (closed) fail();
          else wake = fail;
        });
      }
      return step === "conn" ? Promise.resolve(fakeConn) : Promise.reject(step);
    },
    close() {
      closed = true;
      wake?.();
    },
  } as unknown as Deno.Listener;
}

Deno.test("the listener goes on accepting after EMFILE, backing off and reporting each failure", async () => {
  const emfile = new Error("Too many open files (os error 24)");
  const raw = scriptedListener([emfile, emfile, "conn", emfile, "conn"]);
  const reported: [string, number][] = [];
  const slept: number[] = [];
  const listener = new DenoListener(raw, () => ({ remoteAddr: "x" }) as unknown as Connection, {
    onAcceptError: (e, ms) => reported.push([`${e}`, ms]),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });
  const accepted: Connection[] = [];
  for await (const c of listener) {
    accepted.push(c);
    if (accepted.length === 2) listener.close();
  }
  assert.equal(accepted.length, 2);
  // 10 ms, then doubled while failures continue; reset after a success.
  assert.deepEqual(slept, [10, 20, 10]);
  assert.deepEqual(reported.map(([, ms]) => ms), [10, 20, 10]);
  assert.match(reported[0][0], /Too many open files/);
});

Deno.test("the listener ends quietly when it is closed", async () => {
  const raw = scriptedListener(["conn"]);
  const reported: unknown[] = [];
  const listener = new DenoListener(raw, () => ({}) as unknown as Connection, {
    onAcceptError: (e) => reported.push(e),
  });
  let n = 0;
  for await (const _ of listener) {
    n++;
    listener.close();
  }
  assert.equal(n, 1);
  assert.deepEqual(reported, []);
});
