// Counselor console: uses only the /api/v1 JSON API with a bearer token kept in sessionStorage
// (never a cookie, so the API is not exposed to cross-site request forgery).
"use strict";

// Names of codes (levels, categories, channels, signals, buttons...) come from GET /api/v1/labels
// (api/labels.py, the one mapping): filled in by loadLabels() before anything is shown.
let LB = { levels: {}, statuses: {}, channels: {}, roles: {}, authors: {}, note_kinds: {}, outcomes: {}, categories: {},
           buttons: {}, button_details: {}, consoles: {}, unknown_category: "Chưa rõ chủ đề", unknown_button: "một nút bấm", tapped: "Bấm nút" };
let LEVELS = {}, STATUSES = {}, AUTHORS = {}, OUTCOMES = {};
const URGENT = ["high", "imminent"];
const BASE_TITLE = document.title;
const DELIVERY = { sent: "✓ đã gửi", pending: "… đang gửi", failed: "⚠ không gửi được tới trẻ" };
const $ = (id) => document.getElementById(id);

const state = { token: null, me: null, expiresAt: 0, caseId: null, caseData: null, stream: null, audio: null, reloadTimer: null,
                queue: [], queueAt: 0, notified: new Set(),
                // Messages of the open case that came as live events, kept until a fetched case holds
                // them: a fetch answered just before one arrived must not wipe it from the transcript.
                liveMessages: [] };

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleString("vi-VN") : "";
}

function fmtWait(seconds) {
  if (!seconds && seconds !== 0) return "";
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return "chờ " + (h ? `${h} giờ ${m} phút` : m ? `${m} phút ${s} giây` : `${s} giây`);
}

// --- labels ---------------------------------------------------------------------------
async function loadLabels() {
  LB = await api("GET", "/api/v1/labels");
  ({ levels: LEVELS, statuses: STATUSES, authors: AUTHORS, outcomes: OUTCOMES } = LB);
  const select = $("close-outcome");
  select.replaceChildren(select.options[0], ...Object.entries(OUTCOMES).map(([code, name]) => {
    const o = el("option", name); o.value = code; return o;
  }));
}

const categoryName = (code) => LB.categories[code] || LB.unknown_category;
const channelName = (code) => LB.channels[code] || code;
const roleName = (code) => LB.roles[code] || code;

// A button tap arrives as its payload ("/affirm", '/ask_hotline_111{"detail":"more"}'): name what
// the child tapped (the same rule as api/labels.py's button_label).
function buttonLabel(text) {
  const match = /^\/([A-Za-z0-9_]+)([\s\S]*)$/.exec((text || "").trim());
  if (!match) return null;
  const rest = match[2].trim();
  let detail = null;
  if (rest.startsWith("{")) { try { detail = (JSON.parse(rest) || {}).detail; } catch (e) { detail = null; } }
  if (typeof detail === "string" && LB.button_details[detail]) return LB.button_details[detail];
  return LB.buttons[match[1]] || LB.unknown_button;
}

function shownText(text) {
  const tapped = buttonLabel(text);
  return tapped === null ? text : `${LB.tapped}: ${tapped}`;
}

// --- session --------------------------------------------------------------------------
function saveSession(token, me, expiresIn) {
  state.token = token; state.me = me; state.expiresAt = Date.now() + expiresIn * 1000;
  sessionStorage.setItem("console.session", JSON.stringify({ token, me, expiresAt: state.expiresAt }));
}

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem("console.session") || "null");
    if (saved && saved.expiresAt > Date.now()) {
      state.token = saved.token; state.me = saved.me; state.expiresAt = saved.expiresAt;
      return true;
    }
  } catch (e) { /* ignore broken storage */ }
  sessionStorage.removeItem("console.session");
  return false;
}

function logout(message) {
  sessionStorage.removeItem("console.session");
  clearInterval(state.queueTimer); clearInterval(state.tickTimer);
  document.title = BASE_TITLE; $("role-view").hidden = true;
  state.token = null; state.me = null; state.caseId = null;
  if (state.stream) { state.stream.abort(); state.stream = null; }
  $("app-view").hidden = true; $("whoami").hidden = true; $("login-view").hidden = false;
  if (window.Privacy) window.Privacy.forget();  // no exported data left in the page (privacy.js)
  $("login-error").textContent = message || "";
}

async function api(method, path, body) {
  if (state.expiresAt && Date.now() > state.expiresAt) { logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); throw new Error("expired"); }
  const response = await fetch(path, {
    method,
    headers: Object.assign({ "Accept": "application/json" }, body ? { "Content-Type": "application/json" } : {},
                           state.token ? { "Authorization": `Bearer ${state.token}` } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401 && path !== "/api/v1/auth/login") {
    logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.");
    throw new Error("unauthorized");
  }
  return window.TwoFactor.readAnswer(response);
}

// --- sound ----------------------------------------------------------------------------
function beep(urgent) {
  try {
    if (!state.audio) state.audio = new (window.AudioContext || window.webkitAudioContext)();
    const ctx = state.audio;
    const times = urgent ? [0, 0.25, 0.5] : [0];
    for (const t of times) {
      const osc = ctx.createOscillator(); const gain = ctx.createGain();
      osc.frequency.value = urgent ? 880 : 660; osc.type = "sine";
      gain.gain.setValueAtTime(0.25, ctx.currentTime + t);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + t + 0.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + t); osc.stop(ctx.currentTime + t + 0.21);
    }
    document.body.dataset.lastAlert = String(Date.now());
  } catch (e) { /* audio unavailable */ }
}

// --- queue ----------------------------------------------------------------------------
async function loadQueue() {
  const filter = $("queue-filter").value;
  const cases = await api("GET", `/api/v1/cases?status=${encodeURIComponent(filter)}`);
  state.queue = cases; state.queueAt = Date.now();
  const list = $("queue");
  list.replaceChildren(...cases.map(queueItem));
  $("queue-empty").hidden = cases.length > 0;
  tick();
}

function queueItem(c) {
  const li = el("li", null, `level-${c.level} status-${c.status}`);
  li.dataset.caseId = c.id;
  li.tabIndex = 0;
  if (c.id === state.caseId) li.classList.add("selected");
  const head = el("div");
  head.append(el("span", LEVELS[c.level] || c.level, `badge ${c.level}`), " ", el("strong", `Ca #${c.id}`));
  const timing = el("div", null, "muted");
  if (c.status === "waiting") {
    const wait = el("span", fmtWait(c.waiting_seconds), "wait");
    wait.dataset.base = c.waiting_seconds;
    timing.append(wait, " · ");
  }
  timing.append(`mở lúc ${fmtTime(c.opened_at)}`);
  li.append(head, el("div", `${STATUSES[c.status] || c.status} · ${channelName(c.channel)} · ${categoryName(c.category)}`));
  if (c.excerpt) li.append(el("div", `“${c.excerpt}”`, "excerpt"));
  li.append(timing);
  li.addEventListener("click", () => openCase(c.id));
  li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openCase(c.id); } });
  return li;
}

// Every second: the waiting times count on (from the server's figure, so the local clock does not
// matter), and the tab title counts the urgent cases nobody has accepted yet.
function tick() {
  const elapsed = Math.floor((Date.now() - state.queueAt) / 1000);
  document.querySelectorAll("#queue .wait").forEach((node) => { node.textContent = fmtWait(Number(node.dataset.base) + elapsed); });
  const urgent = state.queue.filter((c) => c.status === "waiting" && URGENT.includes(c.level)).length;
  document.title = urgent ? `(${urgent}) ${BASE_TITLE}` : BASE_TITLE;
}

// --- browser notifications (asked for only when the counselor clicks the button) -----
function showNotifyToggle() {
  const supported = "Notification" in window;
  $("notify-toggle").hidden = !supported || Notification.permission !== "default";
  if (supported && Notification.permission === "denied") {
    $("notify-status").textContent = "Trình duyệt đang chặn thông báo; tiêu đề thẻ vẫn hiện số ca khẩn cấp đang chờ.";
  }
}

async function askNotifications() {
  const answer = await Notification.requestPermission();
  $("notify-status").textContent = answer === "granted" ? "Đã bật thông báo cho ca khẩn cấp mới." : "Không bật thông báo; tiêu đề thẻ vẫn hiện số ca khẩn cấp đang chờ.";
  showNotifyToggle();
}

// No words of the child in a notification: it may show on a shared or locked screen.
function notifyUrgent(c) {
  if (!("Notification" in window) || Notification.permission !== "granted" || state.notified.has(`${c.id}:${c.level}`)) return;
  state.notified.add(`${c.id}:${c.level}`);
  const note = new Notification(`Ca #${c.id}: ${LEVELS[c.level] || c.level}`, { body: `${categoryName(c.category)} · ${channelName(c.channel)} · chờ nhận`, tag: `case-${c.id}` });
  note.onclick = () => { window.focus(); openCase(c.id).catch(() => {}); note.close(); };
}

function scheduleQueueReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(() => loadQueue().catch(() => {}), 150);
}

// --- case view ------------------------------------------------------------------------
function renderMessage(m) {
  const li = el("li", null, m.author);
  li.dataset.messageId = m.id;
  const text = m.shown || (m.author === "child" ? shownText(m.text) : m.text);
  li.append(el("span", `${AUTHORS[m.author] || m.author}${m.by ? " (" + m.by + ")" : ""}:`, "who"), el("span", text));
  if (m.risk_level && m.risk_level !== "none") li.append(" ", el("span", LEVELS[m.risk_level], `badge ${m.risk_level}`));
  if (m.delivery) li.append(" ", el("span", DELIVERY[m.delivery] || m.delivery, `delivery ${m.delivery}`));
  li.append(el("div", fmtTime(m.at), "muted"));
  return li;
}

function mayAct(c) {
  return c.status === "active" && (c.assigned_user_id === state.me.id || ["supervisor", "admin"].includes(state.me.role));
}

const supervising = () => ["supervisor", "admin"].includes(state.me.role);
// A waiting high or imminent case nobody holds: only a supervisor closes it, with a reason (api/cases/closing.py).
const unacceptedUrgent = (c) => c.status === "waiting" && URGENT.includes(c.level);

// Why the reply box is off, said next to it.
function replyHint(c) {
  if (mayAct(c)) return "";
  if (c.status === "closed") return "Ca đã đóng: không thể trả lời.";
  if (c.status === "active") return `Ca đang do ${c.assigned_to || "tư vấn viên khác"} phụ trách: chỉ người đó (hoặc giám sát) trả lời được.`;
  return "Nhận ca để trả lời trẻ.";
}

function closeHint(c) {
  if (c.status === "closed") return "";
  if (c.status === "active" && !mayAct(c)) return "Chỉ người phụ trách ca (hoặc giám sát) đóng được ca này.";
  if (unacceptedUrgent(c)) {
    return supervising() ? "Ca nghiêm trọng chưa ai nhận: đóng ca cần ghi lý do." : "Ca nghiêm trọng chưa ai nhận: hãy nhận ca trước khi đóng, hoặc nhờ giám sát.";
  }
  return "";
}

function renderEarlier(messages) {
  $("earlier").hidden = !messages.length;
  $("earlier-title").textContent = `Tin nhắn của trẻ trước khi mở ca (${messages.length})`;
  $("earlier-list").replaceChildren(...messages.map((m) => {
    const li = el("li", null, "child");
    li.append(el("span", m.button ? `${LB.tapped}: ${m.button}` : m.text), el("div", fmtTime(m.at), "muted"));
    return li;
  }));
}

// The case header: level, category, status, assignee, risk signals (never the forms being typed in).
function renderCaseHeader(c) {
  $("case-title").textContent = `Ca #${c.id}`;
  $("case-level").replaceChildren(el("span", LEVELS[c.level] || c.level, `badge ${c.level}`));
  $("case-category").textContent = categoryName(c.category);
  $("case-channel").textContent = channelName(c.channel);
  $("case-status").textContent = (STATUSES[c.status] || c.status) + (c.outcome ? ` — ${OUTCOMES[c.outcome] || c.outcome}` : "");
  $("case-assigned").textContent = c.assigned_to || "chưa có";
  $("case-signals").replaceChildren(...(c.signal_labels || []).map((s) => el("li", s)));
}

// The child wrote again (the risk may have risen, the assistant's reading may have renamed the
// case): refresh the header of the open case without touching the transcript or the forms.
async function refreshCaseHeader(id) {
  const c = await api("GET", `/api/v1/cases/${id}`);
  if (state.caseId !== id) return;
  state.caseData = c;
  renderCaseHeader(c);
}

async function openCase(id) {
  state.caseId = id;
  const c = await api("GET", `/api/v1/cases/${id}`);
  state.caseData = c;
  window.location.hash = `case-${id}`;
  $("case-view").hidden = false;
  renderCaseHeader(c);
  const zalo = c.channel === "zalo";
  $("case-window-label").hidden = !zalo; $("case-window").hidden = !zalo;
  if (zalo) {
    const s = c.reply_window_seconds_left || 0;
    $("case-window").textContent = s > 0 ? `còn ${Math.floor(s / 3600)} giờ ${Math.floor((s % 3600) / 60)} phút` : "đã hết — không thể nhắn cho trẻ qua Zalo";
  }
  renderEarlier(c.earlier_messages || []);
  const fetched = new Set(c.messages.map((m) => String(m.id)));
  state.liveMessages = state.liveMessages.filter((m) => m.caseId === id && !fetched.has(String(m.id)));
  $("transcript").replaceChildren(...c.messages.map(renderMessage), ...state.liveMessages.map(renderMessage));
  $("transcript").scrollTop = $("transcript").scrollHeight;
  $("notes").replaceChildren(...c.notes.map((n) => el("li", `${fmtTime(n.at)} · ${n.by || ""} · ${LB.note_kinds[n.kind] || n.kind}: ${n.text}`)));
  $("history-title").hidden = !c.previous_cases.length;
  $("history").replaceChildren(...c.previous_cases.map((p) => el("li", `Ca #${p.id} · ${LEVELS[p.level]} · ${categoryName(p.category)} · ${STATUSES[p.status]} ${p.outcome ? "· " + (OUTCOMES[p.outcome] || p.outcome) : ""} · ${fmtTime(p.opened_at)}`)));
  const acting = mayAct(c);
  $("accept").disabled = !["open", "waiting"].includes(c.status);
  for (const id of ["reply-form", "transfer-form", "handback-form"]) {
    for (const control of $(id).elements) control.disabled = !acting;
  }
  $("reply-hint").textContent = replyHint(c);
  // Every case starts with no outcome chosen: a value left from the previous case is never sent.
  if (state.closeFormCase !== id) { $("close-outcome").value = ""; $("close-note").value = ""; state.closeFormCase = id; }
  const closable = c.status !== "closed" && !(c.status === "active" && !acting) && !(unacceptedUrgent(c) && !supervising());
  for (const control of $("close-form").elements) control.disabled = !closable;
  $("close-hint").textContent = closeHint(c);
  document.querySelectorAll("#queue li").forEach((li) => li.classList.toggle("selected", Number(li.dataset.caseId) === id));
  if (acting) await loadColleagues();
  if (window.Casework) window.Casework.show(c).catch(() => {});  // record, referrals, history (casework.js)
  if (window.Privacy) window.Privacy.showCase(c).catch(() => {});  // legal hold (privacy.js)
  // A reply still on its way: look again shortly, so a failed delivery is never silent.
  clearTimeout(state.deliveryTimer);
  if (c.messages.some((m) => m.delivery === "pending")) {
    state.deliveryTimer = setTimeout(() => { if (state.caseId === id) openCase(id).catch(() => {}); }, 3000);
  }
}

async function loadColleagues() {
  const people = await api("GET", "/api/v1/colleagues");
  $("transfer-user").replaceChildren(...people.filter((p) => p.id !== state.me.id).map((p) => {
    const o = el("option", `${p.display_name}${p.online ? " (trực tuyến)" : ""}`); o.value = p.id; return o;
  }));
}

async function act(label, fn) {
  $("case-message").textContent = "";
  try {
    await fn();
    $("case-message").textContent = label;
    if (state.caseId) await openCase(state.caseId);
    await loadQueue();
  } catch (e) {
    $("case-message").textContent = e.message;
  }
}

// --- confirmation (a modal <dialog>: focus stays inside, Escape cancels) --------------
// Resolves to null when cancelled, else to the reason typed (when one was asked for).
function confirmAction({ title, text, ok, askReason }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  $("confirm-reason-label").hidden = !askReason;
  $("confirm-reason").value = ""; $("confirm-reason").setAttribute("aria-required", String(Boolean(askReason)));
  $("confirm-error").textContent = "";
  return new Promise((resolve) => {
    const finish = (value) => { cleanup(); if (dialog.open) dialog.close(); resolve(value); };
    const onSubmit = (e) => {
      e.preventDefault();
      const reason = $("confirm-reason").value.trim();
      if (askReason && !reason) { $("confirm-error").textContent = "Hãy ghi lý do."; $("confirm-reason").focus(); return; }
      finish(reason);
    };
    const onCancel = (e) => { e.preventDefault(); finish(null); };
    const onCancelClick = () => finish(null);
    const cleanup = () => {
      $("confirm-form").removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      $("confirm-cancel").removeEventListener("click", onCancelClick);
    };
    $("confirm-form").addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    $("confirm-cancel").addEventListener("click", onCancelClick);
    dialog.showModal();
    (askReason ? $("confirm-reason") : $("confirm-cancel")).focus();
  });
}

async function confirmClose() {
  const c = state.caseData;
  const outcome = $("close-outcome").value;
  if (!outcome) { $("case-message").textContent = "Hãy chọn kết quả của ca trước khi đóng."; $("close-outcome").focus(); return; }
  const urgent = unacceptedUrgent(c);
  const reason = await confirmAction({
    title: `Đóng ca #${c.id}?`,
    text: (urgent ? `Ca ${LEVELS[c.level]} này chưa có ai nhận, trẻ vẫn đang chờ người trả lời. ` : "") +
          `Kết quả: ${OUTCOMES[outcome]}. Sau khi đóng, trợ lý sẽ trò chuyện lại với trẻ.`,
    ok: "Đóng ca", askReason: urgent,
  });
  if (reason === null) return;
  await act("Đã đóng ca.", () => api("POST", `/api/v1/cases/${c.id}/close`, { outcome, note: $("close-note").value, reason }));
}

async function confirmHandback() {
  const c = state.caseData;
  const answer = await confirmAction({ title: `Trả ca #${c.id} lại cho trợ lý?`, ok: "Trả lại cho trợ lý",
    text: "Trợ lý sẽ trả lời trẻ từ tin nhắn tiếp theo và gửi một lời hỏi thăm. Ca vẫn mở để theo dõi." });
  if (answer === null) return;
  await act("Đã trả lại cho trợ lý.", async () => { await api("POST", `/api/v1/cases/${c.id}/handback`, { note: $("handback-note").value }); $("handback-note").value = ""; });
}

// --- live events (server-sent events over fetch, so the bearer header can be sent) ----
async function connectEvents() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  try {
    const response = await fetch("/api/v1/events", { headers: { "Authorization": `Bearer ${state.token}`, "Accept": "text/event-stream" }, signal: controller.signal });
    if (response.status === 401) { logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); return; }
    if (!response.ok) throw new Error(String(response.status));
    await readEventStream(response, handleEvent);
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  $("live").className = "live off";
  if (state.token && state.stream === controller) setTimeout(connectEvents, 2000);
}

function handleEvent(ev) {
  if (ev.type === "ready") { $("live").className = "live on"; scheduleQueueReload(); return; }
  if (ev.type === "signed_out") { logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); return; }
  if (window.Casework) window.Casework.onEvent(ev);
  const c = ev.case;
  if (ev.type === "case_message") {
    if (ev.case_id === state.caseId && !document.querySelector(`#transcript li[data-message-id="${ev.message_id}"]`)) {
      const message = { id: ev.message_id, author: ev.author, text: ev.text, risk_level: ev.risk_level, at: ev.at };
      state.liveMessages.push({ ...message, caseId: ev.case_id });
      $("transcript").append(renderMessage(message));
      $("transcript").scrollTop = $("transcript").scrollHeight;
      if (ev.author === "child") beep(false);
    }
    return;
  }
  if ((ev.type === "case_opened" || ev.type === "case_updated") && c && (ev.escalated || ev.level_raised) && c.status !== "open") {
    beep(c.level === "imminent");
    showBanner(`Ca #${c.id}: ${LEVELS[c.level]} — ${categoryName(c.category)}`);
    if (c.status === "waiting" && URGENT.includes(c.level)) notifyUrgent(c);
  }
  if (ev.type === "case_alert" && c) {  // routed by the on-call roster: to this person now
    beep(true);
    showBanner(`Ca #${c.id} (${LEVELS[c.level]}) cần người nhận — ${ev.stage === "on_call" ? "bạn đang trực" : "chưa ai nhận"}`);
  }
  if (ev.type === "case_overdue" && c) {
    beep(true);
    showBanner(`Ca #${c.id} (${LEVELS[c.level]}) chưa có ai nhận!`);
  }
  scheduleQueueReload();
  if (c && c.id === state.caseId) {
    if (ev.type === "case_updated") refreshCaseHeader(c.id).catch(() => {});
    else openCase(c.id).catch(() => {});
  }
}

function showBanner(text) {
  const banner = $("alert-banner");
  banner.textContent = text; banner.hidden = false;
  clearTimeout(banner._t); banner._t = setTimeout(() => { banner.hidden = true; }, 15000);
}

// Admins: messages the gateway gave up on (GET /api/v1/admin/failed for the list).
async function checkFailed() {
  if (!state.token || state.me.role !== "admin") return;
  const counts = await api("GET", "/api/v1/admin/failed/count");
  const banner = $("failed-banner");
  banner.hidden = counts.total === 0;
  banner.textContent = counts.total === 0 ? "" :
    `${counts.inbound} tin nhắn đến không xử lý được, ${counts.outbox} tin trả lời không gửi được. ` +
    "Xem /api/v1/admin/failed; gửi lại: python -m api.cli requeue-failed";
}

// --- users (admins) -------------------------------------------------------------------
async function loadUsers() {
  const users = await api("GET", "/api/v1/users");
  $("users-body").replaceChildren(...users.map((u) => {
    const tr = el("tr");
    const toggle = el("button", u.active ? "Khoá" : "Mở khoá"); toggle.type = "button";
    toggle.disabled = u.id === state.me.id;
    toggle.addEventListener("click", async () => {
      try { await api("PATCH", `/api/v1/users/${u.id}`, { active: !u.active }); await loadUsers(); }
      catch (e) { $("users-message").textContent = e.message; }
    });
    const action = el("td"); action.append(toggle);
    if (window.Privacy) window.Privacy.userActions(u, action);  // two-factor reset (privacy.js)
    tr.append(el("td", u.email), el("td", u.display_name), el("td", roleName(u.role)), el("td", u.active ? "có" : "không"), action);
    return tr;
  }));
}

// --- start ----------------------------------------------------------------------------
// Signed in with a role this console is not for: say which console is, never a blank page.
function showRolePage() {
  const here = LB.consoles.console || { for: "tư vấn viên và giám sát" };
  const other = Object.values(LB.consoles).find((k) => k.path !== "/console" && k.roles.includes(state.me.role));
  $("role-title").textContent = `Trang này dành cho ${here.for}`;
  $("role-text").textContent = `Tài khoản của bạn (${roleName(state.me.role)}) không xem được các ca tư vấn của trẻ.`;
  $("role-link").hidden = !other;
  if (other) { $("role-link").textContent = `Mở trang ${other.title}`; $("role-link").href = other.path; }
  $("role-view").hidden = false; $("app-view").hidden = true;
}

async function enterApp() {
  $("login-view").hidden = true; $("whoami").hidden = false;
  setTimeout(() => logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."), Math.max(0, state.expiresAt - Date.now()));
  await loadLabels();
  $("me-name").textContent = `${state.me.display_name || state.me.email} (${roleName(state.me.role)})`;
  $("users-toggle").hidden = state.me.role !== "admin";
  if (window.CaseworkAdmin) window.CaseworkAdmin.enter(state.me);  // record fields, canned replies (casework-admin.js)
  if (window.Privacy) window.Privacy.enter();  // personal data, for supervisors and admins (privacy.js)
  const allowed = (LB.consoles.console || {}).roles || [];
  if (!allowed.includes(state.me.role)) { showRolePage(); return; }
  $("app-view").hidden = false;
  showNotifyToggle();
  await loadQueue();
  connectEvents();
  if (state.me.role === "admin") {
    checkFailed().catch(() => {});
    clearInterval(state.failedTimer);
    state.failedTimer = setInterval(() => checkFailed().catch(() => {}), 60000);
  }
  // Waiting times keep counting, and a missed event never leaves the queue stale for long.
  clearInterval(state.queueTimer);
  state.queueTimer = setInterval(() => { if (state.token) loadQueue().catch(() => {}); }, 30000);
  clearInterval(state.tickTimer);
  state.tickTimer = setInterval(tick, 1000);
  const match = /^#case-(\d+)$/.exec(window.location.hash);
  if (match) openCase(Number(match[1])).catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      if (!state.audio) { try { state.audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (err) { /* no audio */ } }
      const answer = await api("POST", "/api/v1/auth/login", { email: $("login-email").value, password: $("login-password").value });
      $("login-password").value = "";
      const r = await TwoFactor.complete(answer, $("login-view"));
      saveSession(r.access_token, r.user, r.expires_in);
      await enterApp();
    } catch (err) { $("login-error").textContent = err.message; }
  });
  $("logout").addEventListener("click", () => logout(""));
  $("queue-filter").addEventListener("change", () => loadQueue().catch(() => {}));
  $("accept").addEventListener("click", () => act("Bạn đã nhận ca. Trợ lý đã dừng trả lời.", () => api("POST", `/api/v1/cases/${state.caseId}/accept`)));
  $("reply-form").addEventListener("submit", (e) => { e.preventDefault(); const text = $("reply-text").value.trim(); if (!text) return;
    act("Đã gửi.", async () => { await api("POST", `/api/v1/cases/${state.caseId}/messages`, { text }); $("reply-text").value = ""; }); });
  $("note-form").addEventListener("submit", (e) => { e.preventDefault(); const text = $("note-text").value.trim(); if (!text) return;
    act("Đã lưu ghi chú.", async () => { await api("POST", `/api/v1/cases/${state.caseId}/notes`, { text }); $("note-text").value = ""; }); });
  $("transfer-form").addEventListener("submit", (e) => { e.preventDefault();
    act("Đã chuyển ca.", () => api("POST", `/api/v1/cases/${state.caseId}/transfer`, { user_id: Number($("transfer-user").value) })); });
  $("handback-form").addEventListener("submit", (e) => { e.preventDefault(); confirmHandback(); });
  $("close-form").addEventListener("submit", (e) => { e.preventDefault(); confirmClose(); });
  $("notify-toggle").addEventListener("click", () => askNotifications().catch(() => {}));
  $("users-toggle").addEventListener("click", () => { const v = $("users-view"); v.hidden = !v.hidden; if (!v.hidden) loadUsers().catch((err) => { $("users-message").textContent = err.message; }); });
  $("user-form").addEventListener("submit", async (e) => { e.preventDefault();
    try {
      await api("POST", "/api/v1/users", { email: $("new-email").value, display_name: $("new-name").value, role: $("new-role").value, password: $("new-password").value });
      $("user-form").reset(); $("users-message").textContent = "Đã tạo tài khoản."; await loadUsers();
    } catch (err) { $("users-message").textContent = err.message; } });
  if (loadSession()) enterApp().catch(() => {});
});
