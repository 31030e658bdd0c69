// Counselor console: uses only the /api/v1 JSON API with a bearer token kept in sessionStorage
// (never a cookie, so the API is not exposed to cross-site request forgery).
"use strict";

const LEVELS = { imminent: "Khẩn cấp", high: "Nghiêm trọng", concern: "Cần theo dõi", none: "Không" };
const STATUSES = { open: "Trợ lý đang trò chuyện", waiting: "Chờ nhận", active: "Đang tư vấn", closed: "Đã đóng" };
const AUTHORS = { child: "Trẻ", bot: "Trợ lý", counselor: "Tư vấn viên", system: "Hệ thống" };
const OUTCOMES = { advised: "Đã tư vấn", referred_111: "Chuyển 111", referred_police_local: "Chuyển công an/địa phương", closed: "Đóng ca" };
const DELIVERY = { sent: "✓ đã gửi", pending: "… đang gửi", failed: "⚠ không gửi được tới trẻ" };
const $ = (id) => document.getElementById(id);

const state = { token: null, me: null, expiresAt: 0, caseId: null, caseData: null, stream: null, audio: null, reloadTimer: null };

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
  if (!seconds) return "";
  const m = Math.floor(seconds / 60);
  return m > 0 ? `chờ ${m} phút` : `chờ ${seconds} giây`;
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
  clearInterval(state.queueTimer);
  state.token = null; state.me = null; state.caseId = null;
  if (state.stream) { state.stream.abort(); state.stream = null; }
  $("app-view").hidden = true; $("whoami").hidden = true; $("login-view").hidden = false;
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
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    let detail = data && data.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
    const error = new Error(detail || `Lỗi ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
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
  const list = $("queue");
  list.replaceChildren();
  for (const c of cases) {
    const li = el("li", null, `level-${c.level} status-${c.status}`);
    li.dataset.caseId = c.id;
    li.tabIndex = 0;
    if (c.id === state.caseId) li.classList.add("selected");
    const head = el("div");
    head.append(el("span", LEVELS[c.level] || c.level, `badge ${c.level}`), " ", el("strong", `Ca #${c.id}`));
    li.append(head, el("div", `${STATUSES[c.status] || c.status} · ${c.channel} · ${c.category || "chưa rõ chủ đề"}`),
              el("div", `${fmtWait(c.waiting_seconds)} ${c.waiting_seconds ? "·" : ""} mở lúc ${fmtTime(c.opened_at)}`, "muted"));
    li.addEventListener("click", () => openCase(c.id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") openCase(c.id); });
    list.append(li);
  }
  $("queue-empty").hidden = cases.length > 0;
}

function scheduleQueueReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(() => loadQueue().catch(() => {}), 150);
}

// --- case view ------------------------------------------------------------------------
function renderMessage(m) {
  const li = el("li", null, m.author);
  li.dataset.messageId = m.id;
  li.append(el("span", `${AUTHORS[m.author] || m.author}${m.by ? " (" + m.by + ")" : ""}:`, "who"), el("span", m.text));
  if (m.risk_level && m.risk_level !== "none") li.append(" ", el("span", LEVELS[m.risk_level], `badge ${m.risk_level}`));
  if (m.delivery) li.append(" ", el("span", DELIVERY[m.delivery] || m.delivery, `delivery ${m.delivery}`));
  li.append(el("div", fmtTime(m.at), "muted"));
  return li;
}

function mayAct(c) {
  return c.status === "active" && (c.assigned_user_id === state.me.id || ["supervisor", "admin"].includes(state.me.role));
}

// The case header: level, category, status, assignee, risk signals (never the forms being typed in).
function renderCaseHeader(c) {
  $("case-title").textContent = `Ca #${c.id}`;
  $("case-level").replaceChildren(el("span", LEVELS[c.level] || c.level, `badge ${c.level}`));
  $("case-category").textContent = c.category || "chưa rõ";
  $("case-channel").textContent = c.channel;
  $("case-status").textContent = (STATUSES[c.status] || c.status) + (c.outcome ? ` — ${OUTCOMES[c.outcome] || c.outcome}` : "");
  $("case-assigned").textContent = c.assigned_to || "chưa có";
  $("case-signals").replaceChildren(...(c.signals || []).map((s) => el("li", s)));
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
  $("transcript").replaceChildren(...c.messages.map(renderMessage));
  $("transcript").scrollTop = $("transcript").scrollHeight;
  $("notes").replaceChildren(...c.notes.map((n) => el("li", `${fmtTime(n.at)} · ${n.by || ""} · ${n.kind}: ${n.text}`)));
  $("history-title").hidden = !c.previous_cases.length;
  $("history").replaceChildren(...c.previous_cases.map((p) => el("li", `Ca #${p.id} · ${LEVELS[p.level]} · ${STATUSES[p.status]} ${p.outcome ? "· " + (OUTCOMES[p.outcome] || p.outcome) : ""} · ${fmtTime(p.opened_at)}`)));
  const acting = mayAct(c);
  $("accept").disabled = !["open", "waiting"].includes(c.status);
  for (const id of ["reply-form", "transfer-form", "handback-form"]) {
    for (const control of $(id).elements) control.disabled = !acting;
  }
  for (const control of $("close-form").elements) control.disabled = c.status === "closed" || (c.status === "active" && !acting);
  document.querySelectorAll("#queue li").forEach((li) => li.classList.toggle("selected", Number(li.dataset.caseId) === id));
  if (acting) await loadColleagues();
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

// --- live events (server-sent events over fetch, so the bearer header can be sent) ----
async function connectEvents() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  try {
    const response = await fetch("/api/v1/events", { headers: { "Authorization": `Bearer ${state.token}`, "Accept": "text/event-stream" }, signal: controller.signal });
    if (response.status === 401) { logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); return; }
    if (!response.ok) throw new Error(String(response.status));
    const reader = response.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = chunk.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (data) handleEvent(JSON.parse(data));
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  $("live").className = "live off";
  if (state.token && state.stream === controller) setTimeout(connectEvents, 2000);
}

function handleEvent(ev) {
  if (ev.type === "ready") { $("live").className = "live on"; scheduleQueueReload(); return; }
  if (ev.type === "signed_out") { logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); return; }
  const c = ev.case;
  if (ev.type === "case_message") {
    if (ev.case_id === state.caseId && !document.querySelector(`#transcript li[data-message-id="${ev.message_id}"]`)) {
      $("transcript").append(renderMessage({ id: ev.message_id, author: ev.author, text: ev.text, risk_level: ev.risk_level, at: ev.at }));
      $("transcript").scrollTop = $("transcript").scrollHeight;
      if (ev.author === "child") beep(false);
    }
    return;
  }
  if ((ev.type === "case_opened" || ev.type === "case_updated") && c && (ev.escalated || ev.level_raised) && c.status !== "open") {
    beep(c.level === "imminent");
    showBanner(`Ca #${c.id}: ${LEVELS[c.level]} — ${c.category || ""}`);
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
    tr.append(el("td", u.email), el("td", u.display_name), el("td", u.role), el("td", u.active ? "có" : "không"), action);
    return tr;
  }));
}

// --- start ----------------------------------------------------------------------------
async function enterApp() {
  $("login-view").hidden = true; $("app-view").hidden = false; $("whoami").hidden = false;
  $("me-name").textContent = `${state.me.display_name || state.me.email} (${state.me.role})`;
  $("users-toggle").hidden = state.me.role !== "admin";
  setTimeout(() => logout("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."), Math.max(0, state.expiresAt - Date.now()));
  if (state.me.role === "campaign_staff") {
    $("queue-title").textContent = "Tài khoản này không xem được các ca tư vấn.";
    return;
  }
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
  const match = /^#case-(\d+)$/.exec(window.location.hash);
  if (match) openCase(Number(match[1])).catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      if (!state.audio) { try { state.audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (err) { /* no audio */ } }
      const r = await api("POST", "/api/v1/auth/login", { email: $("login-email").value, password: $("login-password").value });
      $("login-password").value = "";
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
  $("handback-form").addEventListener("submit", (e) => { e.preventDefault();
    act("Đã trả lại cho trợ lý.", async () => { await api("POST", `/api/v1/cases/${state.caseId}/handback`, { note: $("handback-note").value }); $("handback-note").value = ""; }); });
  $("close-form").addEventListener("submit", (e) => { e.preventDefault();
    act("Đã đóng ca.", () => api("POST", `/api/v1/cases/${state.caseId}/close`, { outcome: $("close-outcome").value, note: $("close-note").value })); });
  $("users-toggle").addEventListener("click", () => { const v = $("users-view"); v.hidden = !v.hidden; if (!v.hidden) loadUsers().catch((err) => { $("users-message").textContent = err.message; }); });
  $("user-form").addEventListener("submit", async (e) => { e.preventDefault();
    try {
      await api("POST", "/api/v1/users", { email: $("new-email").value, display_name: $("new-name").value, role: $("new-role").value, password: $("new-password").value });
      $("user-form").reset(); $("users-message").textContent = "Đã tạo tài khoản."; await loadUsers();
    } catch (err) { $("users-message").textContent = err.message; } });
  if (loadSession()) enterApp().catch(() => {});
});
