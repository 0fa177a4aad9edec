// The README's first command runs examples/demo.ts: it must end cleanly, with its summary.
import assert from "node:assert/strict";

Deno.test("the demo trades, reconnects with a resend, logs out and exits cleanly", async () => {
  const demo = new URL("../../examples/demo.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    // The permissions of `deno task demo`.
    args: ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", demo],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `demo exited with ${out.code}:\n${stdout}\n${stderr}`);
  assert.equal(stderr, "", "nothing on stderr");
  assert.match(stdout, /fixwire demo: 300 orders, 300 execution reports in \d+ ms/);
  assert.match(stdout, /forced disconnect and reconnect: [1-9]\d* reports resent with PossDupFlag/);
  assert.match(stdout, /duplicates seen by the application: 0/);
  assert.match(stdout, /final state: correctlyTerminated/);
});
