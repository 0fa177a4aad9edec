/**
 * The admin page served by `startAdmin`: plain HTML, CSS and JavaScript with no build step, no
 * external resource and no inline script or style, so a strict Content-Security-Policy
 * (`default-src 'none'; script-src 'self'; ...`) holds. Internal to `admin.ts`.
 *
 * @module
 */

/** The page. Scripts and styles load from `/admin.js` and `/admin.css`. */
export const ADMIN_PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>fixwire admin</title>
<link rel="stylesheet" href="admin.css">
<script src="admin.js" defer></script>
</head>
<body>
<header>
  <h1>fixwire admin</h1>
  <p id="status" role="status" aria-live="polite">Loading…</p>
</header>
<main>
  <section id="login" aria-labelledby="login-title" hidden>
    <h2 id="login-title">Sign in</h2>
    <form id="login-form" novalidate>
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    <p id="login-error" class="error" role="alert"></p>
  </section>

  <section id="sessions-section" aria-labelledby="sessions-title" hidden>
    <div class="bar">
      <h2 id="sessions-title">Sessions</h2>
      <button type="button" id="sign-out" class="quiet">Forget token</button>
    </div>
    <div class="scroll">
      <table id="sessions">
        <caption>Every session of the engine, updated live</caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Version</th>
            <th scope="col">Role</th>
            <th scope="col">State</th>
            <th scope="col"><abbr title="Next outgoing MsgSeqNum">Next out</abbr></th>
            <th scope="col"><abbr title="Next expected incoming MsgSeqNum">Next in</abbr></th>
            <th scope="col">Messages in</th>
            <th scope="col">Messages out</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="no-sessions" hidden>No sessions.</p>
  </section>

  <section id="viewer" aria-labelledby="viewer-title" hidden>
    <div class="bar">
      <h2 id="viewer-title">Messages</h2>
      <button type="button" id="viewer-close" class="quiet">Close</button>
    </div>
    <form id="filter-form" class="inline" novalidate>
      <label for="msgtype">MsgType (35), e.g. <code>D</code> or <code>D,8</code></label>
      <input id="msgtype" name="msgtype" type="text" autocomplete="off" spellcheck="false"
        size="12">
      <button type="submit">Filter</button>
      <button type="button" id="viewer-refresh">Refresh</button>
    </form>
    <p id="viewer-summary" role="status" aria-live="polite"></p>
    <ol id="messages" reversed></ol>
  </section>

  <section id="activity-section" aria-labelledby="activity-title" hidden>
    <h2 id="activity-title">Activity</h2>
    <ol id="activity" aria-live="polite"></ol>
  </section>
</main>

<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <form id="confirm-form" novalidate>
    <h2 id="confirm-title">Confirm</h2>
    <p id="confirm-text"></p>
    <div id="seqnum-fields" hidden>
      <p>
        <label for="next-sender">Next outgoing MsgSeqNum (sender)</label>
        <input id="next-sender" name="nextSenderSeqNum" type="number" min="1" step="1">
      </p>
      <p>
        <label for="next-target">Next expected incoming MsgSeqNum (target)</label>
        <input id="next-target" name="nextTargetSeqNum" type="number" min="1" step="1">
      </p>
    </div>
    <p id="confirm-error" class="error" role="alert"></p>
    <div class="buttons">
      <button type="button" id="confirm-cancel">Cancel</button>
      <button type="submit" id="confirm-ok" class="danger">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;

/** The page's style: system fonts, light and dark. */
export const ADMIN_PAGE_STYLE: string = `:root {
  color-scheme: light dark;
  --bg: #fdfdfc; --fg: #1b1b1b; --muted: #5c5c5c; --line: #d7d7d2; --accent: #1f5fbf;
  --ok: #16703a; --warn: #9a5b00; --bad: #b3261e; --code: #f2f2ee;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 16px; line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #17181a; --fg: #ececea; --muted: #a9a9a4; --line: #3a3b3e; --accent: #7fb0ff;
    --ok: #6fd39a; --warn: #f0b45a; --bad: #ff8a80; --code: #232427; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header, main { max-width: 80rem; margin: 0 auto; padding: 0 1rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap;
  border-bottom: 1px solid var(--line); }
h1 { font-size: 1.4rem; margin: .8rem 0; }
h2 { font-size: 1.15rem; margin: 1.2rem 0 .6rem; }
#status { color: var(--muted); margin: 0; }
.bar { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: .3rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: top; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { white-space: normal; }
.state { font-weight: 600; }
.state-established { color: var(--ok); }
.state-reconnecting, .state-waitingForLogon, .state-waitingForConfirmLogon,
.state-waitingForConfirmLogout, .state-waitingForConnect { color: var(--warn); }
.state-nonGracefullyTerminated { color: var(--bad); }
.state-correctlyTerminated, .state-initial { color: var(--muted); }
button { font: inherit; padding: .25rem .7rem; margin: .1rem .15rem; border-radius: .3rem;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button:disabled { opacity: .45; cursor: not-allowed; }
button.danger { border-color: var(--bad); color: var(--bad); }
button.quiet { border-color: transparent; color: var(--accent); }
input { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: .3rem;
  background: var(--bg); color: var(--fg); }
label { display: block; margin-bottom: .2rem; }
form.inline { display: flex; flex-wrap: wrap; align-items: end; gap: .4rem; }
form.inline label { flex-basis: 100%; }
.error { color: var(--bad); min-height: 1.2em; }
#messages { list-style: none; padding: 0; margin: 0; }
#messages li { border-bottom: 1px solid var(--line); padding: .4rem 0; }
.meta { color: var(--muted); font-size: .9rem; display: flex; gap: .8rem; flex-wrap: wrap; }
.dir-in::before { content: "\\2190  "; }
.dir-out::before { content: "\\2192  "; }
code, .fix { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .88rem; }
.fix { display: block; background: var(--code); padding: .35rem .5rem; border-radius: .3rem;
  white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .2rem; }
#activity { padding-left: 1.2rem; color: var(--muted); font-size: .92rem; }
dialog { border: 1px solid var(--line); border-radius: .5rem; background: var(--bg);
  color: var(--fg); max-width: 32rem; width: calc(100% - 2rem); }
dialog::backdrop { background: rgb(0 0 0 / .45); }
dialog .buttons { display: flex; justify-content: flex-end; gap: .4rem; }
abbr { text-decoration: none; }
`;

/**
 * The page's script. It reads live updates from `api/events` with `fetch` (not `EventSource`,
 * which cannot send the `Authorization` header), and builds every element with `textContent`,
 * never `innerHTML`, so message text cannot inject markup.
 */
export const ADMIN_PAGE_SCRIPT: string = `"use strict";
(() => {
  const TOKEN_KEY = "fixwire.admin.token";
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const rows = new Map();
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let sessions = [];
  let stream;
  let viewing;
  let viewerCounts = "";
  let viewerTimer;

  function setStatus(text) { status.textContent = text; }

  function headers(extra) {
    const h = Object.assign({}, extra);
    if (token) h.authorization = "Bearer " + token;
    return h;
  }

  async function api(path, init) {
    const res = await fetch(path, Object.assign({}, init, {
      headers: headers(init && init.headers),
      cache: "no-store",
    }));
    if (res.status === 401) {
      showLogin(token ? "The token was refused." : "");
      throw new Error("unauthorized");
    }
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (!res.ok) throw new Error((body && body.error) || ("HTTP " + res.status));
    return body;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function log(text) {
    $("activity-section").hidden = false;
    const list = $("activity");
    const item = el("li", {}, new Date().toLocaleTimeString() + "  " + text);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 50) list.removeChild(list.lastChild);
  }

  // --- sign in -------------------------------------------------------------------------------

  function showLogin(message) {
    if (stream) stream.abort();
    stream = undefined;
    $("login").hidden = false;
    $("sessions-section").hidden = true;
    $("viewer").hidden = true;
    $("login-error").textContent = message || "";
    setStatus("Sign in to see the sessions.");
    $("token").focus();
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token").value.trim();
    if (!value) { $("login-error").textContent = "Enter the token."; return; }
    token = value;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    start();
  });

  $("sign-out").addEventListener("click", () => {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("");
  });

  // --- sessions ------------------------------------------------------------------------------

  const ACTIONS = {
    logout: { label: "Log out", title: "Log out", verb: "Log out",
      text: "Send a Logout and wait for the answer; the session ends correctly terminated and " +
        "an initiator stops reconnecting.",
      enabled: (s) => s.connected ||
        (s.role === "initiator" && (s.state === "reconnecting" || s.state === "waitingForConnect")) },
    disconnect: { label: "Drop", title: "Drop the connection", verb: "Drop",
      text: "Close the connection without a Logout; an initiator reconnects.",
      enabled: (s) => s.connected },
    reset: { label: "Reset seq", title: "Reset sequence numbers", verb: "Reset",
      text: "", enabled: (s) => s.state === "established" || !s.connected },
    seqnums: { label: "Set seq…", title: "Set sequence numbers", verb: "Set",
      text: "Set the next sequence numbers by hand (only while disconnected). Leave a field " +
        "empty to keep it.",
      enabled: (s) => !s.connected },
  };

  function buildRow(s) {
    const tr = el("tr", { "data-session": s.id });
    const th = el("th", { scope: "row", class: "id" }, s.id);
    tr.append(th);
    for (const name of ["version", "role", "state", "out", "in", "msgsIn", "msgsOut"]) {
      const numeric = ["out", "in", "msgsIn", "msgsOut"].includes(name);
      tr.append(el("td", { class: name + (numeric ? " num" : ""), "data-field": name }));
    }
    const actions = el("td", { class: "actions" });
    const view = el("button", { type: "button", "data-action": "messages",
      "aria-label": "Messages of " + s.id }, "Messages");
    view.addEventListener("click", () => openViewer(s.id));
    actions.append(view);
    for (const [name, a] of Object.entries(ACTIONS)) {
      const b = el("button", { type: "button", "data-action": name,
        "aria-label": a.title + " of " + s.id, class: name === "seqnums" ? "" : "danger" }, a.label);
      b.addEventListener("click", () => confirmAction(tr.dataset.session, name));
      actions.append(b);
    }
    tr.append(actions);
    return tr;
  }

  function cell(tr, name, value) {
    const td = tr.querySelector('[data-field="' + name + '"]');
    const text = value === null || value === undefined ? "—" : String(value);
    if (td.textContent !== text) td.textContent = text;
    return td;
  }

  function render(list) {
    sessions = list;
    const body = $("sessions").tBodies[0];
    const seen = new Set();
    for (const s of list) {
      seen.add(s.id);
      let tr = rows.get(s.id);
      if (!tr) { tr = buildRow(s); rows.set(s.id, tr); body.append(tr); }
      cell(tr, "version", s.version);
      cell(tr, "role", s.role);
      const st = cell(tr, "state", s.state);
      st.className = "state state-" + s.state;
      tr.dataset.state = s.state;
      cell(tr, "out", s.nextSenderSeqNum);
      cell(tr, "in", s.nextTargetSeqNum);
      cell(tr, "msgsIn", s.metrics.messagesIn);
      cell(tr, "msgsOut", s.metrics.messagesOut);
      for (const [name, a] of Object.entries(ACTIONS)) {
        tr.querySelector('[data-action="' + name + '"]').disabled = !a.enabled(s);
      }
    }
    for (const [id, tr] of rows) if (!seen.has(id)) { tr.remove(); rows.delete(id); }
    $("no-sessions").hidden = list.length > 0;
    if (viewing) {
      const s = list.find((x) => x.id === viewing);
      const counts = s ? s.metrics.messagesIn + "/" + s.metrics.messagesOut : "";
      if (counts !== viewerCounts) { viewerCounts = counts; scheduleViewerRefresh(); }
    }
  }

  // --- live updates: Server-Sent Events read with fetch --------------------------------------

  function handleBlock(block) {
    let event = "message";
    let data = "";
    for (const line of block.split("\\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data += (data ? "\\n" : "") + value;
    }
    if (!data) return;
    const payload = JSON.parse(data);
    if (event === "sessions") render(payload);
    else if (event === "event") describe(payload);
  }

  function describe(p) {
    const e = p.event;
    let text = p.session + ": " + e.type;
    if (e.type === "stateChanged") text += " " + e.from + " → " + e.to;
    else if (e.type === "logout" && e.text) text += " (" + e.text + ")";
    else if (e.type === "disconnected") text += " (" + e.reason + ")";
    else if (e.type === "gapDetected") text += " expected " + e.expected + ", got " + e.received;
    log(text);
  }

  async function follow(signal) {
    while (!signal.aborted) {
      try {
        const res = await fetch("api/events", { headers: headers(), signal, cache: "no-store" });
        if (res.status === 401) { showLogin(token ? "The token was refused." : ""); return; }
        if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
        setStatus("Live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\\r\\n?/g, "\\n");
          let i;
          while ((i = buffer.indexOf("\\n\\n")) >= 0) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            handleBlock(block);
          }
        }
      } catch (e) {
        if (signal.aborted) return;
      }
      setStatus("Connection to the engine lost; retrying…");
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  async function start() {
    setStatus("Connecting…");
    try {
      render(await api("api/sessions"));
    } catch (e) {
      if (e.message !== "unauthorized") setStatus("Cannot load sessions: " + e.message);
      return;
    }
    $("login").hidden = true;
    $("sessions-section").hidden = false;
    if (stream) stream.abort();
    stream = new AbortController();
    follow(stream.signal);
  }

  // --- message viewer ------------------------------------------------------------------------

  function openViewer(id) {
    viewing = id;
    viewerCounts = "";
    $("viewer").hidden = false;
    $("viewer-title").textContent = "Messages of " + id;
    refreshViewer();
    $("msgtype").focus();
  }

  function scheduleViewerRefresh() {
    clearTimeout(viewerTimer);
    viewerTimer = setTimeout(refreshViewer, 300);
  }

  async function refreshViewer() {
    if (!viewing) return;
    const id = viewing;
    const type = $("msgtype").value.trim();
    const q = type ? "?type=" + encodeURIComponent(type) : "";
    let body;
    try {
      body = await api("api/sessions/" + encodeURIComponent(id) + "/messages" + q);
    } catch (e) {
      $("viewer-summary").textContent = "Cannot load messages: " + e.message;
      return;
    }
    if (viewing !== id) return;
    const list = $("messages");
    list.replaceChildren();
    for (const m of body.messages.slice().reverse()) {
      const li = el("li", { "data-msgtype": m.msgType, "data-direction": m.direction });
      const meta = el("div", { class: "meta" });
      meta.append(
        el("span", { class: "dir-" + m.direction }, m.direction === "in" ? "received" : "sent"),
        el("time", { datetime: m.time }, m.time.replace("T", " ").replace("Z", " UTC")),
        el("span", { class: "type" }, (m.msgTypeName || "MsgType") + " (35=" + m.msgType + ")"),
        el("span", {}, m.seqNum === null ? "" : "MsgSeqNum " + m.seqNum),
      );
      li.append(meta, el("code", { class: "fix" }, m.text));
      list.append(li);
    }
    const shown = body.messages.length;
    $("viewer-summary").textContent = shown + " of " + body.kept +
      " recent messages" + (type ? " with MsgType " + type : "") + ", newest first" +
      (body.kept === 0 ? " (the engine keeps recent messages only with Admin.RecentMessages)" : "");
  }

  $("filter-form").addEventListener("submit", (ev) => { ev.preventDefault(); refreshViewer(); });
  $("viewer-refresh").addEventListener("click", refreshViewer);
  $("viewer-close").addEventListener("click", () => {
    viewing = undefined;
    $("viewer").hidden = true;
  });

  // --- operator actions with a confirmation step ---------------------------------------------

  const dialog = $("confirm");
  let pending;

  function confirmAction(id, name) {
    const a = ACTIONS[name];
    const s = sessions.find((x) => x.id === id);
    pending = { id, name };
    $("confirm-title").textContent = a.title + " of " + id + "?";
    let text = a.text;
    if (name === "reset") {
      text = s && s.state === "established"
        ? "Send a Logon with ResetSeqNumFlag(141)=Y; both sides start again at 1."
        : "Reset both sequence numbers to 1 and clear the stored messages.";
    }
    $("confirm-text").textContent = text;
    $("seqnum-fields").hidden = name !== "seqnums";
    $("next-sender").value = s && s.nextSenderSeqNum !== null ? s.nextSenderSeqNum : "";
    $("next-target").value = s && s.nextTargetSeqNum !== null ? s.nextTargetSeqNum : "";
    $("confirm-error").textContent = "";
    $("confirm-ok").textContent = a.verb;
    $("confirm-ok").disabled = false;
    dialog.showModal();
    (name === "seqnums" ? $("next-sender") : $("confirm-cancel")).focus();
  }

  $("confirm-cancel").addEventListener("click", () => { pending = undefined; dialog.close(); });
  dialog.addEventListener("close", () => { pending = undefined; });

  $("confirm-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!pending) return;
    const { id, name } = pending;
    const body = {};
    if (name === "seqnums") {
      for (const [field, input] of [["nextSenderSeqNum", "next-sender"], ["nextTargetSeqNum", "next-target"]]) {
        const v = $(input).value.trim();
        if (v === "") continue;
        if (!/^[1-9][0-9]*$/.test(v)) {
          $("confirm-error").textContent = "Sequence numbers are positive whole numbers.";
          return;
        }
        body[field] = Number(v);
      }
    }
    $("confirm-ok").disabled = true;
    $("confirm-error").textContent = "";
    setStatus(ACTIONS[name].title + " of " + id + "…");
    try {
      await api("api/sessions/" + encodeURIComponent(id) + "/" + name, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      $("confirm-ok").disabled = false;
      $("confirm-error").textContent = e.message;
      setStatus("Live");
      return;
    }
    dialog.close();
    log(id + ": " + ACTIONS[name].title.toLowerCase() + " done");
    setStatus("Live");
  });

  start();
})();
`;
