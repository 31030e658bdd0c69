// Supervisor board: waiting cases against their accept targets, staff online and on call, reassigning.
// Same session as the counselor console (bearer token in sessionStorage, never a cookie); live
// updates from the console's event stream (/api/v1/events), with a 15-second poll as a fallback.
"use strict";

const LEVELS = { imminent: "Khẩn cấp", high: "Nghiêm trọng", concern: "Cần theo dõi", none: "Không" };
const STAGES = { on_call: "Người trực", supervisor: "Giám sát", everyone: "Mọi người" };
const ROLES = { counselor: "Tư vấn viên", supervisor: "Giám sát", admin: "Quản trị" };
const CHANNELS = { telegram: "Telegram", zalo: "Zalo", web: "Web chat" };
const SESSION_KEY = "console.session";
const $ = (id) => document.getElementById(id);
// choices: the person picked for each case, kept while the table redraws every second.
const state = { token: null, expiresAt: 0, board: null, loadedAt: 0, stream: null, reloadTimer: null, choices: {} };

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.expiresAt > Date.now()) { state.token = saved.token; state.expiresAt = saved.expiresAt; return true; }
  } catch (e) { /* broken storage: sign in again */ }
  return false;
}

function showLogin(message) {
  sessionStorage.removeItem(SESSION_KEY);
  state.token = null;
  if (state.stream) { state.stream.abort(); state.stream = null; }
  $("board-view").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  if (state.token) headers["Authorization"] = `Bearer ${state.token}`;
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (response.status === 401 && path !== "/api/v1/auth/login") { showLogin("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); throw new Error("unauthorized"); }
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    let detail = data && data.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
    throw new Error(detail || `Lỗi ${response.status}`);
  }
  return data;
}

// --- drawing ---------------------------------------------------------------------------
function levelBadge(level) { return el("span", LEVELS[level] || level, `badge ${level}`); }

function assignControl(caseId, staff, label) {
  const box = el("div", null, "assign");
  const select = el("select");
  select.setAttribute("aria-label", `${label} ca #${caseId}`);
  select.appendChild(el("option", "— chọn —"));
  select.firstChild.value = "";
  for (const person of staff) {
    const option = el("option", `${person.name}${person.on_call ? " (trực)" : ""} · ${person.load}`);
    option.value = String(person.id);
    select.appendChild(option);
  }
  select.value = state.choices[caseId] || "";
  select.addEventListener("change", () => { state.choices[caseId] = select.value; });
  const button = el("button", label);
  button.type = "button";
  button.addEventListener("click", () => reassign(caseId, state.choices[caseId] || select.value));
  box.append(select, button);
  return box;
}

function waitingRow(c, staff, elapsed) {
  const row = el("tr");
  row.dataset.caseId = String(c.id);
  const waited = c.waiting_seconds + elapsed;
  const breach = waited > c.target_seconds;
  if (breach) row.className = "breach";
  const wait = el("td", `${clock(waited)} / ${clock(c.target_seconds)}`, "wait");
  if (breach) wait.appendChild(el("span", "QUÁ HẠN", "flag"));
  const level = el("td"); level.appendChild(levelBadge(c.level));
  const assign = el("td"); assign.appendChild(assignControl(c.id, staff, "Giao"));
  row.append(el("td", `#${c.id}`), level, el("td", c.category || "chưa rõ"), el("td", CHANNELS[c.channel] || c.channel),
             wait, el("td", STAGES[c.alert_stage] || "Nhóm tư vấn"), assign);
  return row;
}

function staffRow(person) {
  const row = el("tr");
  const online = el("td"); online.appendChild(el("span", null, person.online ? "dot on" : "dot"));
  online.appendChild(document.createTextNode(person.online ? " có" : " không"));
  row.append(el("td", person.name), el("td", ROLES[person.role] || person.role), online,
             el("td", person.on_call ? "Đang trực" : "—"), el("td", person.load));
  return row;
}

function activeRow(c, staff, names) {
  const row = el("tr");
  const level = el("td"); level.appendChild(levelBadge(c.level));
  const assign = el("td"); assign.appendChild(assignControl(c.id, staff, "Chuyển"));
  row.append(el("td", `#${c.id}`), level, el("td", c.category || "chưa rõ"),
             el("td", names[c.assigned_user_id] || "—"),
             el("td", c.accepted_at ? new Date(c.accepted_at).toLocaleTimeString("vi-VN") : ""), assign);
  return row;
}

function render() {
  const board = state.board;
  if (!board) return;
  const elapsed = Math.floor((Date.now() - state.loadedAt) / 1000);
  const staff = board.staff;
  const names = Object.fromEntries(staff.map((p) => [p.id, p.name]));
  const waitingBody = $("waiting").querySelector("tbody");
  waitingBody.replaceChildren(...board.waiting.map((c) => waitingRow(c, staff, elapsed)));
  $("waiting-empty").hidden = board.waiting.length > 0;
  $("staff").querySelector("tbody").replaceChildren(...staff.map(staffRow));
  $("active").querySelector("tbody").replaceChildren(...board.active.map((c) => activeRow(c, staff, names)));
  $("active-empty").hidden = board.active.length > 0;
  const breaches = board.waiting.filter((c) => c.waiting_seconds + elapsed > c.target_seconds).length;
  $("t-waiting").textContent = board.waiting.length;
  $("t-breaches").textContent = breaches;
  $("t-breaches").parentElement.classList.toggle("on", breaches > 0);
  $("t-online").textContent = board.totals.online;
  $("t-oncall").textContent = board.totals.on_call;
  $("targets").textContent = `Mục tiêu nhận ca: khẩn cấp trong ${board.targets.imminent / 60} phút, nghiêm trọng trong ${board.targets.high / 60} phút.`;
}

// Only the clock moves every second; the figures come from the server. An open list is left alone.
function tick() {
  const focused = document.activeElement;
  if (state.board && !(focused && focused.closest && focused.closest(".assign select"))) render();
}

async function loadBoard() {
  state.board = await api("GET", "/api/v1/supervisor/board");
  state.loadedAt = Date.now();
  render();
}

function scheduleReload() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(() => loadBoard().catch(() => {}), 300);
}

async function reassign(caseId, userId) {
  if (!userId) { $("board-message").textContent = "Hãy chọn người nhận ca."; return; }
  try {
    await api("POST", `/api/v1/supervisor/board/cases/${caseId}/assign`, { user_id: Number(userId) });
    delete state.choices[caseId];
    $("board-message").textContent = `Đã giao ca #${caseId}.`;
    await loadBoard();
  } catch (e) {
    $("board-message").textContent = e.message;
  }
}

// --- live events (server-sent events over fetch, so the bearer header can be sent) ----
async function connectEvents() {
  const controller = new AbortController();
  state.stream = controller;
  try {
    const response = await fetch("/api/v1/events", { headers: { "Authorization": `Bearer ${state.token}`, "Accept": "text/event-stream" }, signal: controller.signal });
    if (!response.ok) throw new Error(String(response.status));
    await readEventStream(response, onEvent);
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  $("live").className = "live off";
  if (state.token && state.stream === controller) setTimeout(connectEvents, 2000);
}

function onEvent(event) {
  if (event.type === "ready") { $("live").className = "live on"; return; }
  if (event.type === "signed_out") { showLogin("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); return; }
  if (event.case || event.type === "case_alert") scheduleReload();
}

async function start() {
  $("login-view").hidden = true; $("board-view").hidden = false;
  try {
    await loadBoard();
  } catch (e) {
    $("board-message").textContent = e.message;
    return;
  }
  connectEvents();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const r = await api("POST", "/api/v1/auth/login", { email: $("login-email").value, password: $("login-password").value });
    state.token = r.access_token; state.expiresAt = Date.now() + r.expires_in * 1000;
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: r.access_token, me: r.user, expiresAt: state.expiresAt }));
    start();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

setInterval(tick, 1000);
setInterval(() => { if (state.token) loadBoard().catch(() => {}); }, 15000);
if (loadSession()) start(); else showLogin("");
