// The province's monthly report, printable: /api/v1/reports/monthly as figures, tables and inline SVG
// bar charts (no library). Same session as the counselor console (bearer token in sessionStorage).
"use strict";

const SESSION_KEY = "console.session";
const LEVELS = { concern: "Cần theo dõi", high: "Nghiêm trọng", imminent: "Khẩn cấp" };
const ANSWERS = { helped: "Có, giúp được", somewhat: "Một phần", not_helped: "Chưa giúp được" };
const CATEGORIES = {
  disclose_sexual_abuse: "Xâm hại tình dục", disclose_physical_abuse: "Bạo lực thể chất",
  disclose_online_abuse: "Xâm hại trên mạng", disclose_bullying: "Bắt nạt", disclose_neglect: "Bỏ mặc, bóc lột",
  disclose_self_harm: "Tự hại", report_third_party: "Báo tin về trẻ khác", request_counselor: "Muốn gặp tư vấn viên",
};
const CAMPAIGN = {
  subscribers_end_of_month: "Người đăng ký nhận tin (cuối tháng)", new_subscribers: "Đăng ký mới trong tháng",
  broadcasts: "Số bản tin đã gửi", broadcast_recipients: "Lượt nhận bản tin",
  quizzes_started: "Lượt bắt đầu đố vui", quizzes_finished: "Lượt hoàn thành đố vui",
};
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const state = { token: null, report: null };

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function shown(value) { return value === "*" ? "ẩn" : value; }

async function api(path) {
  const response = await fetch(path, { headers: { "Accept": "application/json", "Authorization": `Bearer ${state.token}` } });
  if (response.status === 401) { showLogin("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."); throw new Error("unauthorized"); }
  if (!response.ok) {
    let detail = null;
    try { detail = (await response.json()).detail; } catch (e) { detail = null; }
    if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
    throw new Error(detail || `Lỗi ${response.status}`);
  }
  return response;
}

// A horizontal bar chart of a breakdown; suppressed cells get a pale bar and their mark, not a length.
function barChart(cells, labels) {
  const entries = Object.entries(cells);
  const numbers = entries.map(([, v]) => (typeof v === "number" ? v : 0));
  const max = Math.max(5, ...numbers);
  const rowHeight = 26, labelWidth = 250, barWidth = 300, width = labelWidth + barWidth + 60;
  const chart = svg("svg", { class: "chart", width, height: Math.max(1, entries.length) * rowHeight + 4,
                             viewBox: `0 0 ${width} ${Math.max(1, entries.length) * rowHeight + 4}`, role: "img" });
  chart.appendChild(svg("title", {}, "Biểu đồ cột"));
  entries.forEach(([key, value], index) => {
    const y = index * rowHeight + 2;
    const suppressed = typeof value !== "number";
    const length = suppressed ? barWidth * 4 / max / 2 : (barWidth * value) / max;
    const bar = svg("rect", { x: labelWidth, y, width: Math.max(1, length), height: rowHeight - 8,
                              class: suppressed ? (value === "*" ? "bar hidden" : "bar small") : "bar" });
    chart.append(svg("text", { x: 0, y: y + 13 }, (labels && labels[key]) || key), bar,
                 svg("text", { x: labelWidth + Math.max(1, length) + 6, y: y + 13 }, shown(value)));
  });
  return chart;
}

function breakdown(target, block, labels) {
  const box = $(target);
  box.replaceChildren();
  if (!block || Object.keys(block.cells).length === 0) { box.appendChild(el("p", "Không có số liệu.", "muted")); return; }
  box.appendChild(barChart(block.cells, labels));
  box.appendChild(el("p", `Tổng: ${shown(block.total)}`));
}

function table(rows) {
  const result = el("table", null, "data");
  for (const [label, value] of rows) {
    const row = el("tr");
    row.append(el("th", label), el("td", shown(value)));
    result.appendChild(row);
  }
  return result;
}

function minutes(seconds) { return seconds === null ? "—" : `${(seconds / 60).toFixed(1)} phút`; }

function render(report) {
  $("report-title").textContent = `Báo cáo tháng ${report.month.slice(5)}/${report.month.slice(0, 4)}`;
  const headline = [["Cuộc trò chuyện trong tháng", report.conversations.active],
                    ["Cuộc trò chuyện mới", report.conversations.new],
                    ["Ca được ghi nhận", report.disclosures.by_level.total],
                    ["Trẻ trả lời câu hỏi sau trò chuyện", report.feedback.answers.total]];
  $("headline").replaceChildren(...headline.map(([label, value]) => {
    const box = el("div", null, "figure");
    box.append(el("span", shown(value), "num"), el("span", label));
    return box;
  }));
  breakdown("by-level", report.disclosures.by_level, LEVELS);
  breakdown("by-category", report.disclosures.by_category, CATEGORIES);
  const labels = report.labels;
  breakdown("by-commune", report.disclosures.by_commune, labels.commune);
  breakdown("by-age", report.disclosures.by_age_group, labels.age_group);
  breakdown("referrals-recipient", report.referrals.by_recipient, labels.referral_recipient);
  breakdown("referrals-status", report.referrals.by_status, labels.referral_status);
  const reply = report.first_reply;
  $("first-reply").replaceChildren(table([["Số ca có trả lời", reply.cases], ["Trung vị", minutes(reply.median_seconds)],
                                          ["90% ca được trả lời trong", minutes(reply.p90_seconds)]]));
  if (reply.median_seconds === null) $("first-reply").appendChild(el("p", "Dưới 5 ca: không tính để tránh nhận diện.", "note"));
  breakdown("feedback", report.feedback.answers, ANSWERS);
  $("feedback").appendChild(el("p", `Số lần hỏi: ${shown(report.feedback.asked)}`));
  $("campaign").replaceChildren(table(Object.entries(report.campaign).map(([k, v]) => [CAMPAIGN[k] || k, v])));
  $("report").hidden = false;
}

async function load(month) {
  $("report-message").textContent = "Đang tải…";
  try {
    state.report = await (await api(`/api/v1/reports/monthly?month=${encodeURIComponent(month)}`)).json();
    render(state.report);
    $("report-message").textContent = "";
    history.replaceState(null, "", `?month=${month}`);
  } catch (e) {
    $("report-message").textContent = e.message;
  }
}

async function downloadCsv() {
  const month = $("month").value;
  try {
    const blob = await (await api(`/api/v1/reports/monthly.csv?month=${encodeURIComponent(month)}`)).blob();
    const link = el("a");
    link.href = URL.createObjectURL(blob); link.download = `bao-cao-${month}.csv`;
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (e) {
    $("report-message").textContent = e.message;
  }
}

function previousMonth() {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  return `${first.getFullYear()}-${String(first.getMonth() + 1).padStart(2, "0")}`;
}

function showLogin(message) {
  sessionStorage.removeItem(SESSION_KEY);
  state.token = null;
  $("report-view").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

function start() {
  $("login-view").hidden = true; $("report-view").hidden = false;
  const asked = new URLSearchParams(location.search).get("month");
  $("month").value = asked && /^\d{4}-\d{2}$/.test(asked) ? asked : previousMonth();
  load($("month").value);
}

$("month-form").addEventListener("submit", (event) => { event.preventDefault(); load($("month").value); });
$("csv").addEventListener("click", downloadCsv);
$("print").addEventListener("click", () => window.print());
$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: $("login-email").value, password: $("login-password").value }) });
  const data = await response.json().catch(() => null);
  if (!response.ok) { $("login-error").textContent = (data && typeof data.detail === "string") ? data.detail : "Đăng nhập không thành công."; return; }
  state.token = data.access_token;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: data.access_token, me: data.user, expiresAt: Date.now() + data.expires_in * 1000 }));
  start();
});

(function init() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (saved && saved.expiresAt > Date.now()) { state.token = saved.token; start(); return; }
  } catch (e) { /* broken storage: sign in again */ }
  showLogin("");
})();
