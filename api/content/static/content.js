/* Content console for campaign staff: plain JavaScript, no external resources. */
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const STATUS = {live: "Đang dùng", pending: "Chờ duyệt", superseded: "Đã thay", rejected: "Bị từ chối",
  draft: "Nháp", scheduled: "Đã hẹn giờ", sending: "Đang gửi", done: "Đã gửi", cancelled: "Đã huỷ",
  queued: "Đang chờ", training: "Đang huấn luyện", evaluating: "Đang đánh giá", swapped: "Đã thay mô hình",
  refused: "Không thay", failed: "Lỗi"};
const KINDS = {child_protection_officer: "Cán bộ bảo vệ trẻ em", police: "Công an", health: "Y tế",
  shelter: "Nhà tạm lánh", school_counselling: "Tư vấn học đường"};
let token = sessionStorage.getItem("contentToken");
let current = null;  // the response being edited

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function notice(text, isError = false) {
  const n = $("#notice");
  n.textContent = text;
  n.className = isError ? "error" : "";
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = "Bearer " + token;
  if (options.json !== undefined) { headers["Content-Type"] = "application/json"; options.body = JSON.stringify(options.json); }
  const res = await fetch(path, {method: options.method || "GET", headers, body: options.body});
  if (res.status === 401 && path !== "/api/v1/auth/login") { logout(); throw new Error("Phiên đăng nhập đã hết hạn."); }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const detail = body && body.detail;
    throw new Error(typeof detail === "string" ? detail : (Array.isArray(detail) ? detail.map(d => d.msg).join("; ") : "Có lỗi xảy ra."));
  }
  return body;
}

function logout() {
  token = null; sessionStorage.removeItem("contentToken");
  $("#app").hidden = true; $("#login-view").hidden = false; $("#logout").hidden = true; $("#who").textContent = "";
}

async function start() {
  try {
    const me = await api("/api/v1/auth/me");
    $("#who").textContent = me.email;
  } catch (e) { return logout(); }
  $("#login-view").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  loadResponses();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const out = await api("/api/v1/auth/login", {method: "POST", json: {email: $("#login-email").value, password: $("#login-password").value}});
    token = out.access_token; sessionStorage.setItem("contentToken", token);
    start();
  } catch (e) { $("#login-error").textContent = e.message; }
});
$("#logout").addEventListener("click", logout);

$$("nav button").forEach(btn => btn.addEventListener("click", () => {
  $$("nav button").forEach(b => b.classList.toggle("active", b === btn));
  $$(".tab").forEach(t => t.hidden = t.id !== "tab-" + btn.dataset.tab);
  notice("");
  ({responses: loadResponses, inbox: loadInbox, broadcasts: loadBroadcasts, quizzes: loadQuizzes,
    directory: loadDirectory, dashboard: loadDashboard})[btn.dataset.tab]();
}));

/* ---- responses ---- */
let allResponses = [];
async function loadResponses() {
  allResponses = await api("/api/v1/responses");
  renderResponseList();
}
function renderResponseList() {
  const q = $("#response-filter").value.toLowerCase();
  const list = $("#response-list");
  list.replaceChildren();
  for (const r of allResponses.filter(r => r.name.includes(q) || (r.variations[0] || {text: ""}).text.toLowerCase().includes(q))) {
    const li = el("li", {"data-name": r.name, onclick: () => openResponse(r.name)}, r.name);
    if (r.safety_critical) li.append(el("span", {class: "badge", title: "Câu trả lời an toàn"}, "an toàn"));
    if (r.pending_versions) li.append(el("span", {class: "badge"}, `${r.pending_versions} chờ duyệt`));
    if (current && current.name === r.name) li.classList.add("sel");
    list.append(li);
  }
}
$("#response-filter").addEventListener("input", renderResponseList);

function variationBox(v = {text: "", buttons: []}) {
  const box = el("div", {class: "variation"});
  const text = el("textarea", {rows: "3", class: "v-text", "aria-label": "Nội dung biến thể"});
  text.value = v.text;
  const buttons = el("input", {class: "v-buttons", placeholder: "Nút: Tên|/payload; Tên 2|/payload2", "aria-label": "Các nút"});
  buttons.value = (v.buttons || []).map(b => `${b.title}|${b.payload}`).join("; ");
  box.append(text, el("label", {}, "Nút ", buttons), el("button", {type: "button", onclick: () => box.remove()}, "Xoá biến thể"));
  return box;
}
function editedVariations() {
  return $$("#variations .variation").map(box => ({
    text: $(".v-text", box).value,
    buttons: $(".v-buttons", box).value.split(";").map(s => s.trim()).filter(Boolean).map(s => {
      const [title, payload] = s.split("|"); return {title: (title || "").trim(), payload: (payload || "").trim()};
    }),
  }));
}
async function openResponse(name) {
  const data = await api(`/api/v1/responses/${encodeURIComponent(name)}/versions`);
  current = data;
  $("#response-editor").hidden = false;
  $("#editor-title").textContent = name;
  $("#editor-safety").hidden = !data.safety_critical;
  const live = data.versions.find(v => v.status === "live") || data.versions[0];
  $("#variations").replaceChildren(...live.variations.map(variationBox));
  $("#preview").replaceChildren(); $("#diff").textContent = "";
  renderVersions();
  renderResponseList();
}
function renderVersions() {
  const body = $("#versions tbody");
  body.replaceChildren();
  const live = current.versions.find(v => v.status === "live");
  for (const v of current.versions) {
    const actions = el("td");
    if (v.status === "pending") {
      actions.append(el("button", {type: "button", onclick: () => versionAction(v.version, "approve")}, "Duyệt"),
                     el("button", {type: "button", onclick: () => versionAction(v.version, "reject")}, "Từ chối"));
    }
    if (live && v.version !== live.version) {
      actions.append(el("button", {type: "button", onclick: () => showDiff(Math.min(live.version, v.version), Math.max(live.version, v.version))}, "So sánh"),
                     el("button", {type: "button", onclick: () => versionAction(v.version, "rollback")}, "Quay lại bản này"));
    }
    body.append(el("tr", {"data-version": String(v.version)}, el("td", {}, "v" + v.version), el("td", {}, STATUS[v.status] || v.status),
      el("td", {}, v.author), el("td", {}, v.approved_by || ""), el("td", {}, new Date(v.created_at).toLocaleString("vi-VN")), actions));
  }
}
async function versionAction(version, action) {
  try {
    await api(`/api/v1/responses/${encodeURIComponent(current.name)}/versions/${version}/${action}`, {method: "POST"});
    notice({approve: "Đã duyệt.", reject: "Đã từ chối.", rollback: "Đã tạo phiên bản quay lại."}[action]);
    await openResponse(current.name); await loadResponses();
  } catch (e) { notice(e.message, true); }
}
async function showDiff(from, to) {
  const d = await api(`/api/v1/responses/${encodeURIComponent(current.name)}/diff?from=${from}&to=${to}`);
  $("#diff").textContent = d.diff || "Không có khác biệt.";
}
$("#add-variation").addEventListener("click", () => $("#variations").append(variationBox()));
$("#preview-btn").addEventListener("click", async () => {
  try {
    const p = await api(`/api/v1/responses/${encodeURIComponent(current.name)}/preview`, {method: "POST", json: {variations: editedVariations()}});
    const out = $("#preview");
    out.replaceChildren(...p.problems.map(t => el("p", {class: "problem"}, t)),
                        ...(p.warnings || []).map(t => el("p", {class: "problem warning"}, "Cảnh báo: " + t)));
    for (const r of p.rendered) {
      out.append(el("div", {class: "bubble"}, r.text), el("div", {class: "bubble", title: "Trên Zalo"}, "Zalo: " + r.zalo_text));
    }
  } catch (e) { notice(e.message, true); }
});
$("#save-btn").addEventListener("click", async () => {
  try {
    const v = await api(`/api/v1/responses/${encodeURIComponent(current.name)}/versions`, {method: "POST", json: {variations: editedVariations(), note: $("#version-note").value}});
    const warned = (v.warnings || []).length ? ` Cảnh báo: ${v.warnings.join(" · ")}` : "";
    notice((v.status === "pending" ? `Đã lưu bản v${v.version}: chờ người thứ hai duyệt.` : `Đã lưu bản v${v.version}: đang dùng ngay.`) + warned, Boolean(warned));
    await openResponse(current.name); await loadResponses();
  } catch (e) { notice(e.message, true); }
});

/* ---- inbox and retraining ---- */
let topics = [];
async function loadInbox() {
  topics = await api("/api/v1/inbox/topics");
  const items = await api("/api/v1/inbox");
  const body = $("#inbox tbody");
  body.replaceChildren();
  if (!items.length) body.append(el("tr", {}, el("td", {colspan: "4"}, "Không có câu hỏi mới.")));
  for (const item of items) {
    const select = el("select", {"aria-label": "Chủ đề"}, el("option", {value: ""}, "— chọn chủ đề —"), ...topics.map(t => el("option", {value: t}, t)));
    const newTopic = el("input", {placeholder: "chủ đề mới (vd faq_hoc_online)", "aria-label": "Chủ đề mới"});
    const answer = el("input", {placeholder: "câu trả lời cho chủ đề mới", "aria-label": "Câu trả lời"});
    const act = async (payload) => {
      try { await api(`/api/v1/inbox/${item.id}/review`, {method: "POST", json: payload}); notice("Đã xử lý."); loadInbox(); }
      catch (e) { notice(e.message, true); }
    };
    body.append(el("tr", {}, el("td", {}, item.text), el("td", {}, item.risk_level),
      el("td", {}, `${item.intent || "?"} ${item.confidence ?? ""}`),
      el("td", {}, select, el("button", {type: "button", onclick: () => act({action: "assign", topic: select.value})}, "Gán"),
        el("br"), newTopic, answer, el("button", {type: "button", onclick: () => act({action: "propose", topic: newTopic.value, answer: answer.value})}, "Đề xuất"),
        el("button", {type: "button", onclick: () => act({action: "dismiss"})}, "Bỏ qua"))));
  }
  showRetrain();
}
$("#export-preview").addEventListener("click", async () => {
  const d = await api("/api/v1/inbox/export");
  $("#export-diff").textContent = d.diff || "Chưa có câu nào được chấp nhận.";
});
$("#export-write").addEventListener("click", async () => {
  try { const d = await api("/api/v1/inbox/export", {method: "POST"}); notice(`Đã ghi ${d.examples} câu vào ${d.path}.`); $("#export-diff").textContent = d.diff; }
  catch (e) { notice(e.message, true); }
});
$("#retrain-start").addEventListener("click", async () => {
  try { await api("/api/v1/retrain", {method: "POST"}); notice("Đã bắt đầu huấn luyện lại."); showRetrain(); }
  catch (e) { notice(e.message, true); }
});
async function showRetrain() {
  const jobs = await api("/api/v1/retrain");
  const box = $("#retrain-status");
  box.replaceChildren();
  const job = jobs[0];
  if (!job) return;
  box.append(el("p", {}, `Lần gần nhất: ${STATUS[job.status] || job.status} – ${job.stage}`),
             el("progress", {max: "100", value: String(job.progress)}),
             ...job.reasons.map(r => el("p", {class: "problem"}, r)));
  if (["queued", "training", "evaluating"].includes(job.status)) setTimeout(showRetrain, 2000);
}

/* ---- broadcasts ---- */
async function loadBroadcasts() {
  const [list, quizzes, counts] = await Promise.all([api("/api/v1/broadcasts"), api("/api/v1/quizzes"), api("/api/v1/subscribers/count")]);
  $("#b-quiz").replaceChildren(el("option", {value: ""}, "(không)"), ...quizzes.map(q => el("option", {value: String(q.id)}, q.title)));
  $("#subscriber-counts").textContent = "Người đăng ký: " + (Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(", ") || "chưa có");
  const body = $("#broadcasts tbody");
  body.replaceChildren();
  for (const b of list) {
    const p = b.progress;
    const actions = el("td");
    if (["draft", "scheduled"].includes(b.status)) actions.append(el("button", {type: "button", onclick: () => bAction(b.id, "send")}, "Gửi ngay"));
    if (b.status !== "cancelled") actions.append(el("button", {type: "button", onclick: () => bAction(b.id, "cancel")}, "Huỷ"));
    body.append(el("tr", {}, el("td", {}, b.title), el("td", {}, STATUS[b.status] || b.status),
      el("td", {}, `${p.sent}/${p.total} (chờ ${p.queued}, lỗi ${p.failed}, bỏ qua ${p.skipped})`), actions));
  }
}
async function bAction(id, action) {
  try { await api(`/api/v1/broadcasts/${id}/${action}`, {method: "POST"}); notice(action === "send" ? "Đang gửi." : "Đã huỷ."); loadBroadcasts(); }
  catch (e) { notice(e.message, true); }
}
$("#broadcast-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const when = $("#b-when").value;
  const payload = {title: $("#b-title").value, text: $("#b-text").value,
    channels: $$("input[name=b-channel]:checked").map(c => c.value),
    quiz_id: $("#b-quiz").value ? Number($("#b-quiz").value) : null,
    scheduled_at: when ? new Date(when).toISOString() : null};
  try {
    const b = await api("/api/v1/broadcasts", {method: "POST", json: payload});
    const warned = (b.warnings || []).length ? ` Cảnh báo: ${b.warnings.join(" · ")}` : "";
    notice("Đã tạo tin." + warned, Boolean(warned)); ev.target.reset(); loadBroadcasts();
  }
  catch (e) { notice(e.message, true); }
});

/* ---- quizzes ---- */
function questionBox() {
  const box = el("fieldset", {class: "variation"}, el("legend", {}, "Câu hỏi"));
  box.append(el("label", {}, "Câu hỏi ", el("input", {class: "q-text", required: ""})),
    el("label", {}, "Các lựa chọn (mỗi dòng một ý) ", el("textarea", {class: "q-options", rows: "3"})),
    el("label", {}, "Số thứ tự đáp án đúng ", el("input", {class: "q-correct", type: "number", min: "1", value: "1"})),
    el("label", {}, "Giải thích ", el("input", {class: "q-explain"})));
  return box;
}
async function loadQuizzes() {
  if (!$("#questions").children.length) $("#questions").append(questionBox());
  const list = await api("/api/v1/quizzes");
  $("#quiz-list").replaceChildren(...list.map(q => el("li", {}, `${q.title} – ${q.questions.length} câu${q.active ? "" : " (tắt)"}`)));
}
$("#add-question").addEventListener("click", () => $("#questions").append(questionBox()));
$("#quiz-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const questions = $$("#questions fieldset").map(b => ({text: $(".q-text", b).value,
    options: $(".q-options", b).value.split("\n").map(s => s.trim()).filter(Boolean),
    correct: Number($(".q-correct", b).value) - 1, explanation: $(".q-explain", b).value}));
  try {
    const q = await api("/api/v1/quizzes", {method: "POST", json: {title: $("#q-title").value, questions}});
    const warned = (q.warnings || []).length ? ` Cảnh báo: ${q.warnings.join(" · ")}` : "";
    notice("Đã lưu đố vui." + warned, Boolean(warned)); loadQuizzes();
  }
  catch (e) { notice(e.message, true); }
});

/* ---- directory ---- */
async function loadDirectory() {
  const q = $("#dir-search").value;
  const entries = q ? await api("/api/v1/directory/search?q=" + encodeURIComponent(q)) : await api("/api/v1/directory");
  const body = $("#directory tbody");
  body.replaceChildren();
  for (const e of entries) {
    const actions = el("td");
    if (!e.national) actions.append(el("button", {type: "button", onclick: async () => { await api(`/api/v1/directory/${e.id}`, {method: "DELETE"}); loadDirectory(); }}, "Xoá"));
    body.append(el("tr", {}, el("td", {}, e.name), el("td", {}, KINDS[e.kind] || e.kind),
      el("td", {}, [e.commune, e.district, e.province].filter(Boolean).join(", ") || "Toàn quốc"),
      el("td", {}, e.phone), el("td", {}, e.hours), actions));
  }
}
$("#dir-search").addEventListener("input", () => loadDirectory());
$("#dir-import").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("#dir-file").files[0];
  if (!file) return notice("Hãy chọn tệp CSV.", true);
  const form = new FormData(); form.append("file", file);
  try { const r = await api("/api/v1/directory/import", {method: "POST", body: form}); notice(`Đã nhập ${r.imported} mục.`); loadDirectory(); }
  catch (e) { notice(e.message, true); }
});
async function download(path, name) {
  const text = await api(path);
  const a = el("a", {href: URL.createObjectURL(new Blob([text], {type: "text/csv"})), download: name});
  a.click();
}
$("#dir-export").addEventListener("click", (ev) => { ev.preventDefault(); download("/api/v1/directory/export.csv", "danh-ba.csv"); });

/* ---- dashboard ---- */
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) { const n = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; }
function barChart(container, rows, label) {
  container.replaceChildren();
  if (!rows.length) { container.append(el("p", {}, "Chưa có số liệu.")); return; }
  const max = Math.max(1, ...rows.map(r => r.value));
  const rowH = 22, width = 640, labelW = 220;
  const chart = svg("svg", {width: String(width), height: String(rows.length * rowH + 10), role: "img", "aria-label": label});
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    const w = Math.max(1, (width - labelW - 50) * r.value / max);
    const name = svg("text", {x: "4", y: String(y + 15), "font-size": "12"}); name.textContent = r.label;
    const bar = svg("rect", {x: String(labelW), y: String(y + 3), width: String(w), height: "15", fill: "#0b5cad"});
    const val = svg("text", {x: String(labelW + w + 4), y: String(y + 15), "font-size": "12"}); val.textContent = String(r.value);
    chart.append(name, bar, val);
  });
  container.append(chart);
}
async function loadDashboard() {
  const days = $("#d-days").value;
  const d = await api("/api/v1/dashboard?days=" + days);
  const conversations = d.conversations_per_day.map(r => ({label: r.day + " " + Object.entries(r).filter(([k]) => k !== "day").map(([k, v]) => `${k}:${v}`).join(" "),
    value: Object.entries(r).filter(([k]) => k !== "day").reduce((s, [, v]) => s + v, 0)}));
  $("#d-cards").replaceChildren(
    el("div", {class: "card"}, el("b", {}, String(d.messages)), "tin nhắn"),
    el("div", {class: "card"}, el("b", {}, (d.fallback_rate * 100).toFixed(1) + "%"), "chưa hiểu"),
    el("div", {class: "card"}, el("b", {}, d.first_reply_minutes.median === null ? "–" : d.first_reply_minutes.median + " phút"), "tới lời đầu của tư vấn viên (trung vị)"));
  barChart($("#d-conversations"), conversations.filter(r => r.value), "Cuộc trò chuyện mỗi ngày");
  barChart($("#d-topics"), d.top_topics.map(t => ({label: t.topic, value: t.messages})), "Chủ đề hay gặp");
  barChart($("#d-disclosures"), d.disclosures.map(x => ({label: `${x.level} · ${x.category || "?"}`, value: x.cases})), "Chia sẻ nguy cơ");
  barChart($("#d-broadcasts"), d.broadcasts.map(b => ({label: b.title, value: b.sent})), "Tin đã gửi");
}
$("#d-days").addEventListener("change", loadDashboard);
$("#d-csv").addEventListener("click", (ev) => { ev.preventDefault(); download("/api/v1/dashboard.csv?days=" + $("#d-days").value, "so-lieu.csv"); });

if (token) start(); else logout();
