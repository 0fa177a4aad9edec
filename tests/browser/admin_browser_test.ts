// The admin page in a real browser: Debian's chromium driven by playwright-core (pinned), run by
// `deno task test:browser` (tests/browser/setup.sh installs chromium when it is missing). Not
// part of `deno task test`.
import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.65.2";
import { startAdmin } from "../../src/engine/admin.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { type LogFields, SILENT_LOGGER } from "../../src/logger.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { Inbox, nextEvent, timeout } from "../engine/_waits.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TOKEN = `browser-${crypto.randomUUID()}`;
const PASSWORD = "hunter2-browser";
const WAIT_MS = 10_000;
const ROW = 'tr[data-session="ACC->INI"]';

function order(id: string): FixMessage {
  return new FixMessage("D").set(11, id).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "1");
}

Deno.test({
  name: "admin page shows sessions live, shows messages and runs a confirmed logout",
  // playwright-core keeps its own pipes and timers to the browser process for the whole test.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const actions: { message: string; fields?: LogFields }[] = [];
    const logger = {
      ...SILENT_LOGGER,
      info: (message: string, fields?: LogFields) => actions.push({ message, fields }),
    };
    const transport = new MemoryTransport();
    const credentials = { username: "trader", password: PASSWORD };
    const acceptorEngine = new FixEngine({
      transport,
      storeFactory: new MemorySeqStoreFactory(),
      logger: SILENT_LOGGER,
      config: { ListenPort: 0, "Admin.Port": 0, "Admin.Token": TOKEN },
    });
    const initiatorEngine = new FixEngine({
      transport,
      storeFactory: new MemorySeqStoreFactory(),
      logger: SILENT_LOGGER,
      config: { "Reconnect.Interval": 10 },
    });
    const acceptor = acceptorEngine.createSession(
      new SessionId("ACC", "INI"),
      "",
      FIXVersion.FIX44,
      { settings: credentials },
    );
    acceptor.setListener({
      onMessage: async (m) => {
        await acceptor.put(
          new FixMessage("8").set(11, m.get(11)!).set(37, "o").set(17, "e").set(150, "0")
            .set(39, "0").set(55, "X").set(54, "1").set(151, 0).set(14, 0).set(6, 0),
        );
      },
    });
    await acceptor.connect();
    const port = acceptorEngine.listenAddresses[0].port;
    const initiator = initiatorEngine.createSession(
      new SessionId("INI", "ACC"),
      "",
      FIXVersion.FIX44,
      { settings: credentials },
    );
    const reports = new Inbox();
    initiator.setListener({ onMessage: reports.push });

    const admin = await startAdmin(acceptorEngine, {
      port: 0,
      hostname: "127.0.0.1",
      token: acceptorEngine.settings.adminToken,
      logger,
    });
    const userDataDir = await Deno.makeTempDir({ prefix: "fixwire-chromium-" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const problems: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => {
        // The event stream is cut when the page closes; anything else is a problem.
        if (!r.url().endsWith("/api/events")) problems.push(`request failed: ${r.url()}`);
      });
      page.on("request", (r) => {
        if (!r.url().startsWith(`http://127.0.0.1:${admin.addr.port}/`)) {
          problems.push(`external request: ${r.url()}`);
        }
      });

      await t.step("the page asks for the token and then lists the sessions", async () => {
        await page.goto(`http://127.0.0.1:${admin.addr.port}/`);
        await page.getByLabel("Admin token").waitFor({ state: "visible" });
        await page.getByLabel("Admin token").fill("wrong-token");
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByText("The token was refused.").waitFor();
        problems.length = 0; // the refused fetch logs a 401 in the console, as it should
        await page.getByLabel("Admin token").fill(TOKEN);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.locator(ROW).waitFor();
        assert.equal(await page.locator(`${ROW} th`).textContent(), "ACC->INI");
        assert.equal(
          await page.evaluate(() => sessionStorage.getItem("fixwire.admin.token")),
          TOKEN,
        );
        assert.equal(await page.locator(ROW).getAttribute("data-state"), acceptor.state);
        await page.getByText("Live", { exact: true }).waitFor();
      });

      await t.step("a session going established shows up live", async () => {
        // Started only now, after the page loaded: the update must arrive by itself.
        await initiator.connect(30, "127.0.0.1", port);
        await page.locator(`${ROW}[data-state="established"]`).waitFor();
        assert.equal(await page.locator(`${ROW} .state`).textContent(), "established");
        await Promise.all(["b1", "b2", "b3"].map((id) => initiator.put(order(id))));
        await reports.waitFor(3, timeout());
        await page.locator(`${ROW} [data-field="in"]`, { hasText: /^5$/ }).waitFor();
        assert.equal(await page.locator(`${ROW} [data-field="out"]`).textContent(), "5");
        assert.equal(await page.locator(`${ROW} [data-field="msgsIn"]`).textContent(), "4");
      });

      await t.step("the message viewer shows messages with tag names", async () => {
        await page.getByRole("button", { name: "Messages of ACC->INI" }).click();
        await page.getByLabel(/MsgType \(35\)/).fill("D");
        await page.getByRole("button", { name: "Filter" }).click();
        const orders = page.locator('#messages li[data-msgtype="D"]');
        await page.locator("#viewer-summary", { hasText: /^3 of \d+ .* MsgType D,/ }).waitFor();
        assert.equal(await page.locator("#messages li").count(), 3);
        assert.equal(await orders.count(), 3);
        const newest = await orders.first().textContent();
        assert.ok(newest?.includes("NewOrderSingle (35=D)"), newest ?? "");
        assert.ok(newest?.includes("|ClOrdID(11)=b3|"), newest ?? "");
        assert.ok(newest?.includes("MsgType(35)=D|"), newest ?? "");
        await page.getByLabel(/MsgType \(35\)/).fill("A");
        await page.getByRole("button", { name: "Filter" }).click();
        await page.locator('#messages li[data-msgtype="A"][data-direction="in"]').waitFor();
        const logon = await page.locator('#messages li[data-direction="in"] code').textContent();
        assert.ok(logon?.includes("|Password(554)=***|"), logon ?? "");
        assert.ok(!(await page.content()).includes(PASSWORD), "the password is masked");
      });

      await t.step("logout asks for confirmation, then the initiator gets a Logout", async () => {
        const logoutButton = page.getByRole("button", { name: "Log out of ACC->INI" });
        const dialog = page.getByRole("dialog");
        await logoutButton.click();
        await dialog.waitFor({ state: "visible" });
        assert.equal(await dialog.locator("h2").textContent(), "Log out of ACC->INI?");
        await dialog.getByRole("button", { name: "Cancel" }).click();
        await dialog.waitFor({ state: "hidden" });
        assert.equal(acceptor.state, "established", "cancel does nothing");

        const logout = nextEvent(initiator, "logout", timeout(WAIT_MS));
        await logoutButton.click();
        await dialog.getByRole("button", { name: "Log out" }).click();
        const ev = await logout;
        assert.equal(ev.text, "Logout by operator");
        await initiator.waitFor("correctlyTerminated", timeout(WAIT_MS));
        await dialog.waitFor({ state: "hidden" });
        await page.locator(`${ROW}:not([data-state="established"])`).waitFor();
        await page.getByText("ACC->INI: stateChanged established → waitingForConfirmLogout")
          .waitFor();
        await page.getByText("ACC->INI: stateChanged waitingForConfirmLogout → correctlyTerminated")
          .waitFor();
        await page.getByText("ACC->INI: log out done").waitFor();
        assert.equal(await logoutButton.isDisabled(), true);
        assert.ok(
          actions.some((a) =>
            a.message === "admin action" && a.fields?.action === "logout" &&
            a.fields?.session === "ACC->INI"
          ),
        );
      });

      await t.step("set sequence numbers through the dialog's inputs", async () => {
        await page.getByRole("button", { name: "Set sequence numbers of ACC->INI", exact: true })
          .click();
        const dialog = page.getByRole("dialog");
        await dialog.getByLabel("Next outgoing MsgSeqNum (sender)").fill("50");
        await dialog.getByLabel("Next expected incoming MsgSeqNum (target)").fill("60");
        await dialog.getByRole("button", { name: "Set" }).click();
        await dialog.waitFor({ state: "hidden" });
        assert.deepEqual([acceptor.nextSenderSeqNum, acceptor.nextTargetSeqNum], [50, 60]);
        await page.locator(`${ROW} [data-field="out"]`, { hasText: /^50$/ }).waitFor();
        assert.equal(await page.locator(`${ROW} [data-field="in"]`).textContent(), "60");
      });

      assert.deepEqual(problems, []);
      assert.ok(!JSON.stringify(actions).includes(TOKEN), "the token is never logged");
    } finally {
      await context.close();
      await admin.close();
      await initiatorEngine.stop();
      await acceptorEngine.stop();
      await Deno.remove(userDataDir, { recursive: true });
    }
  },
});
