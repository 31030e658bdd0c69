/* Widgets of the content console: confirmation dialog, Vietnamese error text, search folding,
   the button editor and the phone-like preview per channel. Plain JavaScript, no external resources. */
"use strict";

/* "An toàn trên mạng" and "an toan tren mang" compare equal. */
function foldText(text) {
  return String(text || "").toLowerCase().replace(/đ/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}
function foldMatches(query, ...texts) {
  const haystack = foldText(texts.join(" "));
  return foldText(query).split(" ").filter(Boolean).every(word => haystack.includes(word));
}

/* API errors read "Vietnamese / English": staff see the Vietnamese part. */
function vietnamesePart(message) {
  const text = String(message || "");
  const cut = text.indexOf(" / ");
  return cut > 0 ? text.slice(0, cut) : text;
}

/* A modal question; resolves true when the person confirms. `okLabel` names the action. */
function confirmAction(message, okLabel, {danger = false, allowed = true} = {}) {
  return new Promise(resolve => {
    const dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.setAttribute("aria-labelledby", "confirm-text");
    const text = document.createElement("p");
    text.id = "confirm-text";
    text.textContent = message;
    const row = document.createElement("div");
    row.className = "row";
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.textContent = "Quay lại";
    row.append(cancel);
    if (allowed) {
      const ok = document.createElement("button");
      ok.type = "button"; ok.textContent = okLabel; ok.className = danger ? "danger" : "primary";
      ok.addEventListener("click", () => close(true));
      row.append(ok);
    }
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", () => close(false));
    dialog.append(text, row);
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
    function close(answer) { dialog.close(); dialog.remove(); resolve(answer); }
  });
}

/* ---- button editor: one row per button (title, action from a list), add, remove, reorder ---- */
let buttonActions = [];  // [{payload, label}] from /api/v1/responses/actions
function actionLabelOf(payload) {
  const known = buttonActions.find(a => a.payload === payload);
  return known ? known.label : "Hành động riêng (giữ nguyên)";
}
function buttonRow(button = {title: "", payload: ""}) {
  const row = document.createElement("div");
  row.className = "button-row";
  const title = document.createElement("input");
  title.className = "b-title"; title.maxLength = 60; title.value = button.title || "";
  title.setAttribute("aria-label", "Chữ trên nút"); title.placeholder = "Chữ trên nút";
  const select = document.createElement("select");
  select.className = "b-action"; select.setAttribute("aria-label", "Khi bấm nút");
  const choices = buttonActions.slice();
  if (button.payload && !choices.some(a => a.payload === button.payload)) choices.unshift({payload: button.payload, label: actionLabelOf(button.payload)});
  if (!button.payload) select.append(new Option("— chọn việc nút sẽ làm —", ""));
  for (const a of choices) select.append(new Option(a.label, a.payload, false, a.payload === button.payload));
  const tools = [["↑", "Đưa nút lên", () => row.previousElementSibling && row.parentNode.insertBefore(row, row.previousElementSibling)],
    ["↓", "Đưa nút xuống", () => row.nextElementSibling && row.parentNode.insertBefore(row.nextElementSibling, row)],
    ["✕", "Xoá nút", () => row.remove()]].map(([sign, label, act]) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = sign; b.title = label; b.setAttribute("aria-label", label);
    b.addEventListener("click", act);
    return b;
  });
  row.append(title, select, ...tools);
  return row;
}
function buttonEditor(buttons) {
  const wrap = document.createElement("div");
  wrap.className = "buttons-editor";
  const legend = document.createElement("p");
  legend.className = "hint"; legend.textContent = "Nút bấm (Zalo hiện thành danh sách đánh số):";
  const rows = document.createElement("div");
  rows.className = "button-rows";
  for (const b of buttons || []) rows.append(buttonRow(b));
  const add = document.createElement("button");
  add.type = "button"; add.textContent = "+ Thêm nút";
  add.addEventListener("click", () => { const r = buttonRow(); rows.append(r); r.querySelector("input").focus(); });
  wrap.append(legend, rows, add);
  return wrap;
}
function editedButtons(box) {
  return Array.from(box.querySelectorAll(".button-row")).map(row => ({
    title: row.querySelector(".b-title").value.trim(), payload: row.querySelector(".b-action").value,
  })).filter(b => b.title || b.payload);
}

/* ---- phone-like preview: one phone per channel ---- */
function phone(channel, label, ...content) {
  const frame = document.createElement("figure");
  frame.className = "phone phone-" + channel;
  const caption = document.createElement("figcaption");
  caption.textContent = label;
  const screen = document.createElement("div");
  screen.className = "screen";
  screen.append(...content);
  frame.append(caption, screen);
  return frame;
}
function bubble(text, extra = "") {
  const b = document.createElement("div");
  b.className = "bubble " + extra; b.textContent = text;
  return b;
}
function chips(buttons, className) {
  const row = document.createElement("div");
  row.className = className;
  for (const b of buttons) {
    const chip = document.createElement("span");
    chip.className = "chip"; chip.textContent = b.title;
    row.append(chip);
  }
  return row;
}
function phonePreview(rendered, zaloHint) {
  const wrap = document.createElement("div");
  wrap.className = "phones";
  rendered.forEach((r, i) => {
    const heading = document.createElement("h4");
    heading.textContent = rendered.length > 1 ? `Biến thể ${i + 1}` : "Xem trước trên điện thoại";
    const zaloText = r.text + (r.buttons.length ? "\n\n" + r.buttons.map((b, n) => `${n + 1}. ${b.title}`).join("\n") + "\n" + zaloHint : "");
    const row = document.createElement("div");
    row.className = "phone-row";
    row.append(phone("telegram", "Telegram", bubble(r.text), chips(r.buttons, "inline-keyboard")),
      phone("zalo", "Zalo (không có nút: danh sách đánh số)", bubble(zaloText)),
      phone("web", "Web chat", bubble(r.text), chips(r.buttons, "quick-replies")));
    wrap.append(heading, row);
  });
  return wrap;
}
