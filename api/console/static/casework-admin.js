// Screens of the console for the casework's own data: admins edit the case-record fields and their
// option lists (PUT /api/v1/case-record/fields/{key}); supervisors and admins edit the canned replies
// (POST/PUT/DELETE /api/v1/canned-replies). Loaded after console.js and uses its `api`, `el` and `$`;
// console.js calls CaseworkAdmin.enter(me) once signed in. The DOM is built with textContent only.
"use strict";

const CaseworkAdmin = (() => {
  const KINDS = { choice: "Chọn một", multi: "Chọn nhiều", text: "Văn bản", province: "Tỉnh, thành phố", commune: "Xã, phường, đặc khu" };
  const admin = { fields: [], canned: [], editing: null };

  // API errors read "Vietnamese / English": staff see the Vietnamese part.
  const vietnamese = (message) => { const text = String(message || ""); const cut = text.indexOf(" / "); return cut > 0 ? text.slice(0, cut) : text; };

  // A label tied to its control by id (its name is the label alone, never the options' text), and a hint
  // read out with the control.
  let ids = 0;
  function labelled(text, control, hint) {
    if (!control.id) control.id = `cwa-control-${++ids}`;
    const wrap = el("div", null, "cwa-field");
    const label = el("label", text); label.htmlFor = control.id;
    wrap.append(label, control);
    if (hint) {
      const note = el("small", hint, "muted hint"); note.id = `${control.id}-hint`;
      control.setAttribute("aria-describedby", note.id);
      wrap.append(note);
    }
    return wrap;
  }

  function input(name, value, attributes) {
    const node = el(attributes && attributes.rows ? "textarea" : "input");
    node.name = name; node.value = value || "";
    for (const [key, v] of Object.entries(attributes || {})) node.setAttribute(key, v);
    return node;
  }

  function say(id, text, isError) {
    const box = $(id);
    box.textContent = text; box.className = isError ? "error" : "status";
  }

  // A modal question (Escape cancels); resolves true when confirmed.
  function confirmDialog(question, okLabel) {
    return new Promise((resolve) => {
      const dialog = el("dialog"); dialog.setAttribute("aria-labelledby", "cwa-confirm-text");
      const text = el("p", question); text.id = "cwa-confirm-text";
      const ok = el("button", okLabel); ok.type = "button";
      const cancel = el("button", "Huỷ", "secondary"); cancel.type = "button";
      const row = el("div", null, "row"); row.append(ok, cancel);
      dialog.append(text, row);
      const finish = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
      ok.addEventListener("click", () => finish(true));
      cancel.addEventListener("click", () => finish(false));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); });
      document.body.append(dialog); dialog.showModal(); cancel.focus();
    });
  }

  // --- case-record fields (admins) -------------------------------------------------------
  async function loadFields(selectKey) {
    admin.fields = (await api("GET", "/api/v1/case-record/schema")).fields;
    const picker = $("cwa-field-pick");
    picker.replaceChildren(...admin.fields.map((f) => { const o = el("option", `${f.label} (${KINDS[f.kind] || f.kind})`); o.value = f.key; return o; }),
                           Object.assign(el("option", "+ Thêm trường mới"), { value: "" }));
    picker.value = selectKey !== undefined ? selectKey : (admin.fields[0] ? admin.fields[0].key : "");
    showField();
  }

  function optionRow(option, index) {
    const row = el("li", null, "cwa-option");
    const value = input("value", option.value, { "aria-label": `Mã của lựa chọn ${index + 1}`, maxlength: "60", required: "" });
    const label = input("label", option.label, { "aria-label": `Tên hiển thị của lựa chọn ${index + 1}`, maxlength: "120", required: "" });
    const parent = input("parent", option.parent || "", { "aria-label": `Thuộc lựa chọn (mã) của lựa chọn ${index + 1}`, maxlength: "60", placeholder: "thuộc (mã, nếu có)" });
    const remove = el("button", "Bỏ", "secondary"); remove.type = "button";
    remove.setAttribute("aria-label", `Bỏ lựa chọn ${index + 1}`);
    remove.addEventListener("click", () => { row.remove(); });
    row.append(value, label, parent, remove);
    return row;
  }

  function showField() {
    const key = $("cwa-field-pick").value;
    const f = admin.fields.find((x) => x.key === key) || { key: "", label: "", kind: "choice", help: "", options: [], position: (admin.fields.length + 1) * 10, active: true };
    const form = $("cwa-field-form");
    const kind = el("select"); kind.name = "kind";
    kind.append(...Object.entries(KINDS).map(([code, name]) => { const o = el("option", name); o.value = code; return o; }));
    kind.value = f.kind; kind.disabled = Boolean(f.key);  // a field's kind never changes
    const keyInput = input("key", f.key, { maxlength: "40", pattern: "[A-Za-z0-9_]+", required: "" });
    keyInput.readOnly = Boolean(f.key);
    const active = el("input"); active.type = "checkbox"; active.name = "active"; active.checked = f.active !== false;
    const activeLabel = el("label", null, "cw-check"); activeLabel.append(active, " Đang dùng (bỏ chọn để ẩn trường khỏi hồ sơ)");
    const parts = [
      labelled("Mã trường", keyInput, f.key ? "Không đổi được mã của trường đã có." : "Chữ không dấu, số và \"_\"."),
      labelled("Tên trường", input("label", f.label, { maxlength: "120", required: "" })),
      labelled("Loại", kind, f.key ? "Không đổi được loại của trường đã có." : ""),
      labelled("Gợi ý cho tư vấn viên", input("help", f.help, { maxlength: "300" })),
      labelled("Thứ tự", input("position", String(f.position || 0), { type: "number", min: "0", max: "100000" })),
      activeLabel,
    ];
    form.replaceChildren(...parts, optionsEditor(f, kind), el("div", null, "row"));
    const save = el("button", "Lưu trường"); save.type = "submit";
    form.lastChild.append(save);
    kind.addEventListener("change", () => form.replaceChild(optionsEditor({ ...f, kind: kind.value, options: [] }, kind), form.children[parts.length]));
    say("cwa-field-status", "");
  }

  function optionsEditor(f, kindSelect) {
    const box = el("fieldset", null, "cw-set"); box.id = "cwa-options";
    const kind = kindSelect.value;
    if (kind === "province") {
      box.append(el("legend", "Địa bàn phục vụ"),
                 labelled("Tỉnh, thành phố (mỗi dòng một tên; để trống là cả 34 tỉnh, thành)",
                          input("provinces", f.options.map((o) => o.value).join("\n"), { rows: "4" })));
      return box;
    }
    if (kind === "text" || kind === "commune") {
      box.append(el("legend", "Danh sách lựa chọn"),
                 el("p", kind === "commune" ? "Xã, phường lấy theo tỉnh, thành đã chọn trong hồ sơ: không cần danh sách." : "Trường văn bản không có danh sách.", "muted"));
      return box;
    }
    const list = el("ol", null, "cwa-options"); list.id = "cwa-option-list";
    list.append(...f.options.map(optionRow));
    const add = el("button", "+ Thêm lựa chọn", "secondary"); add.type = "button";
    add.addEventListener("click", () => { const row = optionRow({ value: "", label: "" }, list.children.length); list.append(row); row.querySelector("input").focus(); });
    box.append(el("legend", "Danh sách lựa chọn"),
               el("p", "Lựa chọn bị bỏ vẫn giữ nguyên trong các hồ sơ đã có.", "muted hint"), list, add);
    return box;
  }

  function fieldBody(form) {
    const data = new FormData(form);
    const kind = form.elements.kind.value;
    let options = [];
    if (kind === "province") options = String(data.get("provinces") || "").split("\n").map((s) => s.trim()).filter(Boolean);
    else if (kind === "choice" || kind === "multi") {
      options = [...form.querySelectorAll(".cwa-option")].map((row) => {
        const option = { value: row.querySelector("[name=value]").value.trim(), label: row.querySelector("[name=label]").value.trim() };
        const parent = row.querySelector("[name=parent]").value.trim();
        return parent ? { ...option, parent } : option;
      });
    }
    return { key: String(data.get("key") || "").trim(),
             body: { label: String(data.get("label") || "").trim(), kind, help: String(data.get("help") || "").trim(), options,
                     position: Number(data.get("position") || 0), active: form.elements.active.checked } };
  }

  async function saveField(event) {
    event.preventDefault();
    const { key, body } = fieldBody(event.target);
    try {
      await api("PUT", `/api/v1/case-record/fields/${encodeURIComponent(key)}`, body);
      await loadFields(body.active ? key : undefined);
      say("cwa-field-status", `Đã lưu trường "${body.label}".`);
    } catch (e) { say("cwa-field-status", vietnamese(e.message), true); }
  }

  function buildFieldsView() {
    const view = $("fields-view");
    const title = el("h2", "Trường của hồ sơ ca"); title.id = "fields-title";
    const pick = el("select"); pick.id = "cwa-field-pick";
    pick.addEventListener("change", showField);
    const form = el("form", null, "cwa-form"); form.id = "cwa-field-form";
    form.addEventListener("submit", saveField);
    const status = el("p", null, "status"); status.id = "cwa-field-status"; status.setAttribute("role", "status");
    view.replaceChildren(title, el("p", "Tư vấn viên điền các trường này khi trò chuyện với trẻ. Sửa ở đây có hiệu lực với các hồ sơ từ nay.", "muted"),
                         labelled("Trường", pick), form, status);
  }

  // --- canned replies (supervisors and admins) --------------------------------------------
  async function loadCanned() {
    admin.canned = await api("GET", "/api/v1/canned-replies");
    $("cwa-canned-list").replaceChildren(...admin.canned.map((r) => {
      const item = el("li", null, "cw-list-item");
      const head = el("p"); head.append(el("strong", r.title), ` — ${r.situation}`);
      if (r.safety_critical) head.append(" ", el("span", "An toàn: phải có 111", "badge high"));
      const edit = el("button", "Sửa"); edit.type = "button"; edit.setAttribute("aria-label", `Sửa "${r.title}"`);
      edit.addEventListener("click", () => editCanned(r));
      const remove = el("button", "Xoá", "secondary"); remove.type = "button"; remove.setAttribute("aria-label", `Xoá "${r.title}"`);
      remove.addEventListener("click", () => removeCanned(r));
      const row = el("div", null, "row"); row.append(edit, remove);
      item.append(head, el("p", r.text, "cwa-text"), row);
      return item;
    }));
  }

  function editCanned(reply) {
    admin.editing = reply;
    const form = $("cwa-canned-form");
    form.elements.situation.value = reply ? reply.situation : "";
    form.elements.title.value = reply ? reply.title : "";
    form.elements.text.value = reply ? reply.text : "";
    $("cwa-canned-legend").textContent = reply ? `Sửa câu trả lời mẫu "${reply.title}"` : "Thêm câu trả lời mẫu";
    $("cwa-canned-cancel").hidden = !reply;
    say("cwa-canned-error", "");
    if (reply) form.elements.situation.focus();
  }

  async function saveCanned(event) {
    event.preventDefault();
    const form = event.target;
    const body = { situation: form.elements.situation.value, title: form.elements.title.value, text: form.elements.text.value };
    try {
      const saved = admin.editing ? await api("PUT", `/api/v1/canned-replies/${admin.editing.id}`, body)
                                  : await api("POST", "/api/v1/canned-replies", body);
      editCanned(null);
      await loadCanned();
      say("cwa-canned-status", `Đã lưu "${saved.title}".`);
    } catch (e) {
      // The 111 rule's refusal (and any other) in Vietnamese; what was typed stays in the form.
      say("cwa-canned-error", vietnamese(e.message), true);
    }
  }

  async function removeCanned(reply) {
    if (!await confirmDialog(`Xoá câu trả lời mẫu "${reply.title}"? Tư vấn viên sẽ không thấy nó nữa.`, "Xoá")) return;
    try {
      await api("DELETE", `/api/v1/canned-replies/${reply.id}`);
      if (admin.editing && admin.editing.id === reply.id) editCanned(null);
      await loadCanned();
      say("cwa-canned-status", `Đã xoá "${reply.title}".`);
    } catch (e) { say("cwa-canned-status", vietnamese(e.message), true); }
  }

  function buildCannedView() {
    const view = $("canned-view");
    const title = el("h2", "Câu trả lời mẫu"); title.id = "canned-title";
    const list = el("ul", null, "cw-list"); list.id = "cwa-canned-list"; list.setAttribute("aria-labelledby", "canned-title");
    const form = el("form", null, "cwa-form"); form.id = "cwa-canned-form";
    const set = el("fieldset", null, "cw-set");
    const legend = el("legend"); legend.id = "cwa-canned-legend";
    const error = el("p", null, "error"); error.id = "cwa-canned-error"; error.setAttribute("role", "alert");
    const text = input("text", "", { rows: "4", maxlength: "2000", required: "", "aria-describedby": "cwa-canned-rule" });
    const save = el("button", "Lưu"); save.type = "submit";
    const cancel = el("button", "Huỷ sửa", "secondary"); cancel.type = "button"; cancel.id = "cwa-canned-cancel";
    cancel.addEventListener("click", () => editCanned(null));
    const row = el("div", null, "row"); row.append(save, cancel);
    const rule = el("small", "Câu trả lời an toàn, hoặc có nhắc 111, 113, 115, phải ghi số tổng đài 111.", "muted hint"); rule.id = "cwa-canned-rule";
    set.append(legend, labelled("Tình huống", input("situation", "", { maxlength: "80", required: "" })),
               labelled("Tiêu đề", input("title", "", { maxlength: "120", required: "" })),
               labelled("Nội dung", text), rule, error, row);
    form.append(set);
    form.addEventListener("submit", saveCanned);
    const status = el("p", null, "status"); status.id = "cwa-canned-status"; status.setAttribute("role", "status");
    view.replaceChildren(title, status, list, form);
    editCanned(null);
  }

  function toggle(viewId, load, message) {
    const view = $(viewId);
    view.hidden = !view.hidden;
    if (!view.hidden) { load().catch((e) => say(message, vietnamese(e.message), true)); view.scrollIntoView({ block: "start" }); }
  }

  function enter(me) {
    const supervising = ["supervisor", "admin"].includes(me.role);
    $("fields-toggle").hidden = me.role !== "admin";
    $("canned-toggle").hidden = !supervising;
    if (me.role === "admin" && !$("cwa-field-pick")) buildFieldsView();
    if (supervising && !$("cwa-canned-form")) buildCannedView();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("fields-toggle").addEventListener("click", () => toggle("fields-view", () => loadFields(), "cwa-field-status"));
    $("canned-toggle").addEventListener("click", () => toggle("canned-view", loadCanned, "cwa-canned-status"));
  });
  return { enter };
})();
window.CaseworkAdmin = CaseworkAdmin;
