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
let LABELS = {topics: {}, levels: {}, channels: {}};  // Vietnamese names of codes, from /api/v1/content/labels
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
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const detail = body && body.detail;
    // Errors read "Vietnamese / English"; a field check (422 list) is said in Vietnamese.
    throw new Error(typeof detail === "string" ? vietnamesePart(detail) : (Array.isArray(detail) ? "Có ô chưa điền đúng, hãy xem lại." : "Có lỗi xảy ra."));
  }
  return body;
}

function logout() {
  token = null; sessionStorage.removeItem("contentToken");
  $("#app").hidden = true; $("#role-view").hidden = true; $("#login-view").hidden = false; $("#logout").hidden = true; $("#who").textContent = "";
}

async function start() {
  try {
    const me = await api("/api/v1/auth/me");
    $("#who").textContent = me.email;
    // A role this console is not for (GET /api/v1/labels names who each console serves) gets a page saying so.
    const consoles = (await api("/api/v1/labels")).consoles;
    if (!consoles.content.roles.includes(me.role)) {
      $("#login-view").hidden = true; $("#logout").hidden = false; $("#role-view").hidden = false;
      return;
    }
  } catch (e) { return logout(); }
  $("#login-view").hidden = true; $("#app").hidden = false; $("#logout").hidden = false;
  try { LABELS = await api("/api/v1/content/labels"); } catch (e) { /* names fall back to neutral words */ }
  loadResponses();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const answer = await api("/api/v1/auth/login", {method: "POST", json: {email: $("#login-email").value, password: $("#login-password").value}});
    const out = await TwoFactor.complete(answer, $("#login-view"));
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
const SAFETY_BADGE = "Cần số 111 · 2 người duyệt";
const SAFETY_HELP = "Câu trả lời cho lúc trẻ có thể gặp nguy hiểm: mọi biến thể phải có số 111, và bản mới chỉ được dùng khi một người thứ hai duyệt.";
async function loadResponses() {
  const [responses, actions] = await Promise.all([api("/api/v1/responses"), buttonActions.length ? buttonActions : api("/api/v1/responses/actions")]);
  allResponses = responses.sort((a, b) => a.title.localeCompare(b.title, "vi")); buttonActions = actions;
  renderResponseList();
}
function renderResponseList() {
  const q = $("#response-filter").value;
  const list = $("#response-list");
  list.replaceChildren();
  const shown = allResponses.filter(r => foldMatches(q, r.title, r.description, ...r.variations.map(v => v.text)));
  for (const r of shown) {
    const open = el("button", {type: "button", class: "item", onclick: () => openResponse(r.name)},
      el("span", {class: "item-title"}, r.title), el("span", {class: "item-desc"}, r.description));
    const li = el("li", {"data-name": r.name}, open);
    if (r.safety_critical) li.append(el("span", {class: "badge safety-badge", title: SAFETY_HELP}, SAFETY_BADGE));
    if (r.pending_versions) li.append(el("span", {class: "badge"}, `${r.pending_versions} bản chờ duyệt`));
    if (current && current.name === r.name) { li.classList.add("sel"); open.setAttribute("aria-current", "true"); }
    list.append(li);
  }
  if (!shown.length) list.append(el("li", {class: "empty"}, "Không tìm thấy câu trả lời nào."));
}
$("#response-filter").addEventListener("input", renderResponseList);

function variationBox(v = {text: "", buttons: []}) {
  const box = el("div", {class: "variation"});
  const text = el("textarea", {rows: "4", class: "v-text", "aria-label": "Nội dung biến thể"});
  text.value = v.text;
  box.append(text, buttonEditor(v.buttons || []), el("button", {type: "button", onclick: () => box.remove()}, "Xoá biến thể"));
  return box;
}
function editedVariations() {
  return $$("#variations .variation").map(box => ({text: $(".v-text", box).value, buttons: editedButtons(box)}));
}
async function openResponse(name) {
  const data = await api(`/api/v1/responses/${encodeURIComponent(name)}/versions`);
  current = data;
  $("#response-editor").hidden = false;
  $("#editor-title").textContent = data.title;
  $("#editor-description").textContent = data.description;
  $("#editor-code").textContent = name;
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
      el("td", {}, shownAuthor(v.author)), el("td", {}, shownAuthor(v.approved_by || "")), el("td", {}, new Date(v.created_at).toLocaleString("vi-VN")), actions));
  }
}
// The shipped wording is seeded under the name of its file: staff read it as the original text.
function shownAuthor(name) { return name === "domain.yml" ? "Bản gốc" : name; }
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
    out.replaceChildren(phonePreview(p.rendered, p.zalo_choice_hint || ""),
                        ...p.problems.map(t => el("p", {class: "problem"}, vietnamesePart(t))),
                        ...(p.warnings || []).map(t => el("p", {class: "problem warning"}, "Cảnh báo: " + vietnamesePart(t))));
  } catch (e) { notice(e.message, true); }
});
$("#save-btn").addEventListener("click", async () => {
  try {
    const v = await api(`/api/v1/responses/${encodeURIComponent(current.name)}/versions`, {method: "POST", json: {variations: editedVariations(), note: $("#version-note").value}});
    const warned = (v.warnings || []).length ? ` Cảnh báo: ${v.warnings.map(vietnamesePart).join(" · ")}` : "";
    notice((v.status === "pending" ? `Đã lưu bản v${v.version}: chờ người thứ hai duyệt.` : `Đã lưu bản v${v.version}: đang dùng ngay.`) + warned, Boolean(warned));
    await openResponse(current.name); await loadResponses();
  } catch (e) { notice(e.message, true); }
});

/* ---- inbox and retraining ---- */
let topics = [];
function topicSelect() {
  const select = el("select", {"aria-label": "Chủ đề"}, el("option", {value: ""}, "— chọn chủ đề —"));
  const groups = {};
  for (const t of topics) {
    if (!groups[t.group]) { groups[t.group] = el("optgroup", {label: t.group}); select.append(groups[t.group]); }
    groups[t.group].append(el("option", {value: t.topic}, t.label));
  }
  return select;
}
async function loadInbox() {
  topics = await api("/api/v1/inbox/topics");
  const items = await api("/api/v1/inbox");
  const body = $("#inbox tbody");
  body.replaceChildren();
  if (!items.length) body.append(el("tr", {}, el("td", {colspan: "4"}, "Không có câu hỏi mới.")));
  for (const item of items) {
    const select = topicSelect();
    const newTopic = el("input", {placeholder: "tên ngắn, không dấu (vd faq_hoc_online)", "aria-label": "Chủ đề mới"});
    const answer = el("input", {placeholder: "câu trả lời cho chủ đề mới", "aria-label": "Câu trả lời"});
    const act = async (payload) => {
      try { await api(`/api/v1/inbox/${item.id}/review`, {method: "POST", json: payload}); notice("Đã xử lý."); loadInbox(); }
      catch (e) { notice(e.message, true); }
    };
    const guess = item.guess ? `${item.guess} (${item.certainty})` : "Chưa đoán được";
    body.append(el("tr", {}, el("td", {}, item.text), el("td", {}, item.risk_label),
      el("td", {}, guess),
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
  const ok = await confirmAction("Huấn luyện lại mô hình với các câu đã ghi? Việc này mất khoảng nửa giờ; mô hình mới chỉ được dùng nếu không kém hơn mô hình đang chạy.", "Huấn luyện lại");
  if (!ok) return;
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
let subscriberCounts = {};
async function loadBroadcasts() {
  const [list, quizzes, counts] = await Promise.all([api("/api/v1/broadcasts"), api("/api/v1/quizzes"), api("/api/v1/subscribers/count")]);
  subscriberCounts = counts;
  $("#b-quiz").replaceChildren(el("option", {value: ""}, "(không)"), ...quizzes.map(q => el("option", {value: String(q.id)}, q.title)));
  $("#subscriber-counts").textContent = "Người đăng ký: " + (Object.entries(counts).map(([c, n]) => `${LABELS.channels[c] || c} ${n}`).join(", ") || "chưa có");
  const body = $("#broadcasts tbody");
  body.replaceChildren();
  for (const b of list) {
    const p = b.progress;
    const actions = el("td");
    if (["draft", "scheduled"].includes(b.status)) actions.append(el("button", {type: "button", onclick: () => confirmSend(b)}, "Gửi ngay"));
    if (b.status !== "cancelled") actions.append(el("button", {type: "button", onclick: () => confirmCancel(b)}, "Huỷ"));
    body.append(el("tr", {}, el("td", {}, b.title), el("td", {}, STATUS[b.status] || b.status),
      el("td", {}, `${p.sent}/${p.total} (chờ ${p.queued}, lỗi ${p.failed}, bỏ qua ${p.skipped})`), actions));
  }
}
async function confirmSend(b) {
  const reach = b.channels.reduce((sum, c) => sum + (subscriberCounts[c] || 0), 0);
  const where = b.channels.map(c => LABELS.channels[c] || c).join(", ");
  if (!reach) {
    await confirmAction(`Chưa có ai đăng ký nhận tin trên ${where}: tin "${b.title}" sẽ không đến được ai. Hãy chọn kênh khác hoặc chờ có người đăng ký.`, "", {allowed: false});
    return;
  }
  const zalo = b.channels.includes("zalo") ? " (trên Zalo chỉ người nhắn trong 7 ngày qua)" : "";
  if (await confirmAction(`Gửi ngay tin "${b.title}" tới khoảng ${reach} người đăng ký trên ${where}${zalo}? Tin đã gửi không lấy lại được.`, `Gửi cho ${reach} người`)) bAction(b.id, "send");
}
async function confirmCancel(b) {
  if (await confirmAction(`Huỷ tin "${b.title}"? Những người chưa nhận sẽ không nhận được nữa.`, "Huỷ tin", {danger: true})) bAction(b.id, "cancel");
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
    const warned = (b.warnings || []).length ? ` Cảnh báo: ${b.warnings.map(vietnamesePart).join(" · ")}` : "";
    notice("Đã tạo tin." + warned, Boolean(warned)); ev.target.reset(); loadBroadcasts();
  }
  catch (e) { notice(e.message, true); }
});

/* ---- quizzes ---- */
let editingQuiz = null;  // the quiz being edited, or null for a new one
function questionBox(q = {text: "", options: [], correct: 0, explanation: ""}) {
  const box = el("fieldset", {class: "variation"}, el("legend", {}, "Câu hỏi"));
  const text = el("input", {class: "q-text", required: ""}); text.value = q.text;
  const options = el("textarea", {class: "q-options", rows: "3"}); options.value = q.options.join("\n");
  const correct = el("input", {class: "q-correct", type: "number", min: "1", value: String(q.correct + 1)});
  const explain = el("input", {class: "q-explain"}); explain.value = q.explanation || "";
  box.append(el("label", {}, "Câu hỏi ", text), el("label", {}, "Các lựa chọn (mỗi dòng một ý) ", options),
    el("label", {}, "Số thứ tự đáp án đúng ", correct), el("label", {}, "Giải thích ", explain),
    el("button", {type: "button", onclick: () => box.remove()}, "Xoá câu hỏi"));
  return box;
}
function resetQuizForm(quiz = null) {
  editingQuiz = quiz;
  $("#q-title").value = quiz ? quiz.title : "";
  $("#questions").replaceChildren(...(quiz ? quiz.questions : [undefined]).map(q => questionBox(q)));
  $("#quiz-form-title").textContent = quiz ? `Sửa bộ đố vui "${quiz.title}"` : "Bộ đố vui mới";
  $("#quiz-cancel").hidden = !quiz;
}
async function loadQuizzes() {
  if (!$("#questions").children.length) resetQuizForm();
  const list = await api("/api/v1/quizzes");
  $("#quiz-list").replaceChildren(...list.map(q => el("li", {}, `${q.title} – ${q.questions.length} câu${q.active ? "" : " (tắt)"} `,
    el("button", {type: "button", onclick: () => { resetQuizForm(q); $("#q-title").focus(); }}, "Sửa"))));
}
$("#quiz-cancel").addEventListener("click", () => resetQuizForm());
$("#add-question").addEventListener("click", () => $("#questions").append(questionBox()));
$("#quiz-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const questions = $$("#questions fieldset").map(b => ({text: $(".q-text", b).value,
    options: $(".q-options", b).value.split("\n").map(s => s.trim()).filter(Boolean),
    correct: Number($(".q-correct", b).value) - 1, explanation: $(".q-explain", b).value}));
  try {
    const body = {title: $("#q-title").value, questions};
    const q = editingQuiz ? await api(`/api/v1/quizzes/${editingQuiz.id}`, {method: "PUT", json: {...body, active: editingQuiz.active}})
                          : await api("/api/v1/quizzes", {method: "POST", json: body});
    const warned = (q.warnings || []).length ? ` Cảnh báo: ${q.warnings.map(vietnamesePart).join(" · ")}` : "";
    notice(`Đã lưu đố vui "${q.title}".` + warned, Boolean(warned)); resetQuizForm(); loadQuizzes();
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
    if (!e.national) actions.append(el("button", {type: "button", onclick: () => editEntry(e)}, "Sửa"),
                                    el("button", {type: "button", onclick: () => deleteEntry(e)}, "Xoá"));
    body.append(el("tr", {}, el("td", {}, e.name), el("td", {}, KINDS[e.kind] || e.kind),
      el("td", {}, [e.commune, e.district, e.province].filter(Boolean).join(", ") || "Toàn quốc"),
      el("td", {}, e.phone), el("td", {}, e.hours), actions));
  }
}
$("#dir-search").addEventListener("input", () => loadDirectory());
let editingEntry = null;
function editEntry(e = null) {
  editingEntry = e;
  $("#entry-form").hidden = false;
  $("#entry-form-title").textContent = e ? `Sửa "${e.name}"` : "Thêm một nơi giúp đỡ";
  for (const field of ["name", "province", "commune", "phone", "hours"]) $("#e-" + field).value = e ? (e[field] || "") : "";
  $("#e-kind").value = e ? e.kind : "child_protection_officer";
  $("#e-name").focus();
}
async function deleteEntry(e) {
  if (!await confirmAction(`Xoá "${e.name}" (${e.phone}) khỏi danh bạ? Trẻ em sẽ không còn thấy nơi này.`, "Xoá", {danger: true})) return;
  try { await api(`/api/v1/directory/${e.id}`, {method: "DELETE"}); notice(`Đã xoá "${e.name}".`); loadDirectory(); }
  catch (err) { notice(err.message, true); }
}
$("#entry-add").addEventListener("click", () => editEntry());
$("#entry-cancel").addEventListener("click", () => { $("#entry-form").hidden = true; editingEntry = null; });
$("#entry-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = Object.fromEntries(["name", "kind", "province", "commune", "phone", "hours"].map(f => [f, $("#e-" + f).value]));
  try {
    const saved = editingEntry ? await api(`/api/v1/directory/${editingEntry.id}`, {method: "PUT", json: body})
                               : await api("/api/v1/directory", {method: "POST", json: body});
    const warned = (saved.warnings || []).length ? ` Cảnh báo: ${saved.warnings.map(vietnamesePart).join(" · ")}` : "";
    notice(`Đã lưu "${saved.name}".` + warned, Boolean(warned)); $("#entry-form").hidden = true; editingEntry = null; loadDirectory();
  } catch (err) { notice(err.message, true); }
});
$("#dir-import").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = $("#dir-file").files[0];
  if (!file) return notice("Hãy chọn tệp CSV.", true);
  const form = new FormData(); form.append("file", file);
  try {
    const r = await api("/api/v1/directory/import", {method: "POST", body: form});
    const warned = (r.warnings || []).length ? ` Cảnh báo: ${r.warnings.map(vietnamesePart).join(" · ")}` : "";
    notice(`Đã nhập ${r.imported} dòng: ${r.added} mục mới, ${r.updated} mục cập nhật, ${r.unchanged} mục không đổi.` + warned, Boolean(warned)); loadDirectory();
  }
  catch (e) { notice(e.message, true); }
});
async function download(path, name) {
  const text = await api(path);
  // The byte order mark (sent by the server, kept here) lets Excel read the accents.
  const a = el("a", {href: URL.createObjectURL(new Blob([text.startsWith("\ufeff") ? text : "\ufeff" + text], {type: "text/csv;charset=utf-8"})), download: name});
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
  const rowH = 28, width = 760, labelW = 320;
  const chart = svg("svg", {width: String(width), height: String(rows.length * rowH + 10), role: "img", "aria-label": label});
  rows.forEach((r, i) => {
    const y = 5 + i * rowH;
    const w = Math.max(1, (width - labelW - 50) * r.value / max);
    const name = svg("text", {x: "4", y: String(y + 19), "font-size": "15"}); name.textContent = r.label;
    const bar = svg("rect", {x: String(labelW), y: String(y + 5), width: String(w), height: "18", fill: "#0b5cad"});
    const val = svg("text", {x: String(labelW + w + 4), y: String(y + 19), "font-size": "15"}); val.textContent = String(r.value);
    chart.append(name, bar, val);
  });
  container.append(chart);
}
async function loadDashboard() {
  const days = $("#d-days").value;
  const d = await api("/api/v1/dashboard?days=" + days);
  const day = iso => new Date(iso + "T00:00:00").toLocaleDateString("vi-VN", {day: "2-digit", month: "2-digit"});
  const conversations = d.conversations_per_day.map(r => ({label: day(r.day) + " · " + Object.entries(r).filter(([k]) => k !== "day").map(([k, v]) => `${LABELS.channels[k] || k} ${v}`).join(", "),
    value: Object.entries(r).filter(([k]) => k !== "day").reduce((s, [, v]) => s + v, 0)}));
  $("#d-cards").replaceChildren(
    el("div", {class: "card"}, el("b", {}, String(d.messages)), "tin nhắn"),
    el("div", {class: "card"}, el("b", {}, (d.fallback_rate * 100).toFixed(1) + "%"), "chưa hiểu"),
    el("div", {class: "card"}, el("b", {}, d.first_reply_minutes.median === null ? "–" : d.first_reply_minutes.median + " phút"), "tới lời đầu của tư vấn viên (trung vị)"));
  barChart($("#d-conversations"), conversations.filter(r => r.value), "Cuộc trò chuyện mỗi ngày");
  const topic = code => { const c = String(code || "").replace(/^faq\//, ""); return LABELS.topics[c] || LABELS.topics["disclose_" + c] || "Chủ đề khác"; };
  barChart($("#d-topics"), d.top_topics.map(t => ({label: topic(t.topic), value: t.messages})), "Chủ đề hay gặp");
  barChart($("#d-disclosures"), d.disclosures.map(x => ({label: `${LABELS.levels[x.level] || "Mức khác"} · ${x.category ? topic(x.category) : "chưa rõ loại"}`, value: x.cases})), "Chia sẻ nguy cơ");
  barChart($("#d-broadcasts"), d.broadcasts.map(b => ({label: b.title, value: b.sent})), "Tin đã gửi");
  // After-chat answers: counts from 1 to 4 arrive as "<5" (never a bar length that would give them away).
  $("#d-feedback").replaceChildren(...d.feedback.map(f => el("div", {class: "card"}, el("b", {}, String(f.count)), f.label)));
}
$("#d-days").addEventListener("change", loadDashboard);
$("#d-csv").addEventListener("click", (ev) => { ev.preventDefault(); download("/api/v1/dashboard.csv?days=" + $("#d-days").value, "so-lieu.csv"); });

if (token) start(); else logout();
