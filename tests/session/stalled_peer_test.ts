// A peer that stops reading (zero TCP window: our writes never complete) must not hang
// anything: every way a session ends still ends at its deadline.
import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { established, T0 } from "./_harness.ts";

const LOGOUT_MS = 2_000;

function disconnectedAt(events: SessionEvent[]): number | undefined {
  const e = events.find((e) => e.type === "disconnected");
  return e?.atMs;
}

Deno.test("a heartbeat timeout ends the link at its deadline while writes are blocked", async () => {
  const h = await established({ settings: { logoutTimeoutMs: LOGOUT_MS } });
  // The peer stays alive (its messages keep coming) but its writes are blocked from 29 s.
  await h.clock.advance(29_000);
  await h.peer.send("0", []);
  h.conn.blockWrites();
  await h.peer.send("1", [[112, "t1"]]); // our Heartbeat answer is the first blocked write
  await h.settle();
  for (let s = 30; s < 65; s += 5) {
    await h.clock.advance(5_000);
    await h.peer.send("0", []);
  }
  // The write blocked since 29 s; heartbeats go on (59 s, queued); at the 89 s tick it has been
  // blocked for more than a heartbeat timeout (36 s): dropped, although the peer still talks.
  await h.clock.advance(24_999);
  assert.equal(disconnectedAt(h.events), undefined);
  await h.clock.advance(1);
  assert.equal(await h.done, "peer stopped reading");
  assert.equal(disconnectedAt(h.events), T0 + 89_000);
  assert.equal(h.session.state, "nonGracefullyTerminated");
  await h.close();
});

Deno.test("a silent peer that does not read either is dropped at the heartbeat timeout", async () => {
  const h = await established({ settings: { logoutTimeoutMs: LOGOUT_MS } });
  h.conn.blockWrites();
  // 30 s our Heartbeat (blocked), 36 s TestRequest, 72 s: the next tick, blocked for more than
  // a heartbeat timeout (the link's check runs before the core's own TestRequest timeout).
  await h.clock.advance(71_999);
  assert.equal(disconnectedAt(h.events), undefined);
  assert.ok(h.conn.pendingWrites > 0);
  await h.clock.advance(1);
  assert.equal(await h.done, "peer stopped reading");
  assert.equal(disconnectedAt(h.events), T0 + 72_000);
  assert.equal(h.session.state, "nonGracefullyTerminated");
  await h.close();
});

Deno.test("logout() completes at the logout timeout while writes are blocked", async () => {
  const h = await established({ settings: { logoutTimeoutMs: LOGOUT_MS } });
  h.conn.blockWrites();
  let done = false;
  const out = h.session.logout("bye").then(() => done = true);
  await h.clock.advance(LOGOUT_MS - 1);
  assert.equal(done, false);
  await h.clock.advance(1);
  await out;
  assert.equal(await h.done, "Logout timeout");
  assert.equal(disconnectedAt(h.events), T0 + LOGOUT_MS);
  await h.close();
});

Deno.test("a protocol error ends the link within the logout timeout while writes are blocked", async () => {
  const h = await established({ settings: { logoutTimeoutMs: LOGOUT_MS } });
  await h.peer.send("0", [], { seq: 2 });
  await h.settle();
  h.conn.blockWrites();
  // MsgSeqNum too low without PossDupFlag: Logout and disconnect.
  await h.peer.send("0", [], { seq: 2 });
  await h.settle();
  assert.equal(disconnectedAt(h.events), undefined);
  await h.clock.advance(LOGOUT_MS);
  assert.match(await h.done, /MsgSeqNum too low/);
  assert.equal(disconnectedAt(h.events), T0 + LOGOUT_MS);
  await h.close();
});

Deno.test("dropConnection ends the link at once while writes are blocked", async () => {
  const h = await established();
  h.conn.blockWrites();
  const put = h.session.put(new FixMessage("D").set(11, "x"));
  await h.settle();
  h.session.dropConnection("operator");
  await h.settle();
  await put; // persisted: the write that never completed is abandoned, the resend delivers it
  assert.equal(await h.done, "operator");
  assert.equal(disconnectedAt(h.events), T0);
  await h.session.idle();
  await h.close();
});
