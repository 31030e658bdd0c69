// Casework beside the chat: the case record (autosaved), referrals and their follow-up, the child's
// earlier cases and the canned replies. Loaded after console.js and uses its `state`, `api`, `el`,
// `$`, `fmtTime`, `beep` and `showBanner`; console.js calls Casework.show(case) and Casework.onEvent(event).
"use strict";

const Casework = (() => {
  const REFERRAL_STATUSES = { sent: "Đã gửi", acknowledged: "Đã xác nhận", in_progress: "Đang xử lý", done: "Đã xong", declined: "Bị từ chối" };
  const EMAIL_STATUSES = { none: "", pending: "✉ đang gửi e-mail", sent: "✉ đã gửi e-mail", failed: "⚠ e-mail không gửi được", not_configured: "⚠ chưa cấu hình e-mail: in phiếu" };
  const AUTOSAVE_MS = 700;
  const cw = { library: null, schema: null, canned: null, recipients: null, caseId: null, version: 0, editable: false, timer: null, saving: null, dirty: false };

  function field(labelText, control, help) {
    const label = el("label", labelText);
    label.append(control);
    if (help) label.append(el("small", help, "muted hint"));
    return label;
  }

  function option(value, label) {
    const o = el("option", label); o.value = value; return o;
  }

  // --- the case record ----------------------------------------------------------------
  function buildControl(f) {
    if (f.kind === "choice" || f.kind === "province") {
      const select = el("select"); select.name = f.key;
      select.append(option("", "—"), ...f.options.map((o) => option(o.value, o.label)));
      return select;
    }
    if (f.kind === "commune") {
      const input = el("input"); input.name = f.key; input.setAttribute("list", `cw-list-${f.key}`); input.autocomplete = "off";
      const list = el("datalist"); list.id = `cw-list-${f.key}`;
      const wrap = el("span"); wrap.append(input, list);
      return wrap;
    }
    if (f.kind === "multi") {
      const box = el("div", null, "cw-multi"); box.dataset.name = f.key;
      for (const o of f.options) {
        const item = el("label", null, o.parent ? "cw-check sub" : "cw-check");
        if (o.parent) item.dataset.parent = o.parent;
        const check = el("input"); check.type = "checkbox"; check.value = o.value; check.name = f.key;
        item.append(check, " ", o.label);
        box.append(item);
      }
      return box;
    }
    const text = el("textarea"); text.name = f.key; text.rows = 2; text.maxLength = 2000;
    return text;
  }

  function buildRecordForm() {
    const form = $("cw-record");
    form.replaceChildren(...cw.schema.fields.map((f) => {
      const wrap = f.kind === "multi" ? el("fieldset", null, "cw-set") : field(f.label, buildControl(f), f.help);
      if (f.kind === "multi") wrap.append(el("legend", f.label), buildControl(f));
      wrap.dataset.field = f.key;
      return wrap;
    }));
    form.addEventListener("change", (e) => { if (e.target.name === provinceKey()) fillCommunes(); showSubtypes(); scheduleSave(0); });
    form.addEventListener("input", (e) => { if (e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT") scheduleSave(AUTOSAVE_MS); });
  }

  // A sub-type shows once its category is ticked (or when it is ticked itself): a short form to scan.
  function showSubtypes() {
    for (const item of $("cw-record").querySelectorAll(".cw-check.sub")) {
      const box = item.closest(".cw-multi");
      const parent = [...box.querySelectorAll("input")].find((c) => c.value === item.dataset.parent);
      item.hidden = !(parent && parent.checked) && !item.querySelector("input").checked;
    }
  }

  function provinceKey() { const f = cw.schema.fields.find((x) => x.kind === "province"); return f ? f.key : "province"; }

  function fillCommunes() {
    const province = cw.schema.fields.find((x) => x.kind === "province");
    const chosen = province && $("cw-record").elements[province.key].value;
    const match = province && province.options.find((o) => o.value === chosen);
    for (const f of cw.schema.fields.filter((x) => x.kind === "commune")) {
      $(`cw-list-${f.key}`).replaceChildren(...(match ? match.communes : []).map((c) => option(c, c)));
    }
  }

  function readValues() {
    const form = $("cw-record"); const values = {};
    for (const f of cw.schema.fields) {
      if (f.kind === "multi") {
        values[f.key] = [...form.querySelectorAll(`input[name="${f.key}"]:checked`)].map((c) => c.value);
      } else {
        const control = form.elements[f.key];
        values[f.key] = control ? control.value : "";
      }
    }
    return values;
  }

  function writeValues(values) {
    const form = $("cw-record");
    for (const f of cw.schema.fields) {
      const value = values[f.key];
      if (f.kind === "multi") {
        form.querySelectorAll(`input[name="${f.key}"]`).forEach((c) => { c.checked = Array.isArray(value) && value.includes(c.value); });
      } else if (form.elements[f.key]) {
        const control = form.elements[f.key];
        if (control.tagName === "SELECT" && value && ![...control.options].some((o) => o.value === value)) control.append(option(value, value));
        control.value = value || "";
      }
      if (f.kind === "province") fillCommunes();
    }
    showSubtypes();
  }

  function setEditable(editable) {
    cw.editable = editable;
    for (const control of $("cw-record").querySelectorAll("input, select, textarea")) control.disabled = !editable;
    for (const control of $("cw-referral-form").elements) control.disabled = !editable;
  }

  function scheduleSave(delay) {
    if (!cw.editable) return;
    cw.dirty = true;
    $("cw-record-status").textContent = "Chưa lưu…";
    clearTimeout(cw.timer);
    cw.timer = setTimeout(() => { save().catch(() => {}); }, delay);
  }

  async function save() {
    clearTimeout(cw.timer);
    // One save at a time, in order: every waiter waits again if another started first, and
    // sends only what no save has taken since (several PUTs at once could land out of order).
    while (cw.saving) await cw.saving;
    if (!cw.dirty || !cw.caseId) return;
    const caseId = cw.caseId; const values = readValues();
    cw.dirty = false;
    $("cw-record-status").textContent = "Đang lưu…";
    cw.saving = api("PUT", `/api/v1/cases/${caseId}/record`, { values, version: cw.version }).then((record) => {
      if (cw.caseId !== caseId) return;
      cw.version = record.version;
      // Changed again while this save was on its way: not everything on screen is saved yet.
      $("cw-record-status").textContent = cw.dirty ? "Chưa lưu…" : `Đã lưu lúc ${new Date().toLocaleTimeString("vi-VN")}`;
      $("cw-record-status").className = "status";
    }).catch((e) => {
      cw.dirty = true;  // what was typed stays in the form and is sent again with the next change
      $("cw-record-status").textContent = `Chưa lưu được: ${e.message}`;
      $("cw-record-status").className = "status error";
    }).finally(() => { cw.saving = null; });
    await cw.saving;
  }

  async function loadRecord(caseId) {
    const record = await api("GET", `/api/v1/cases/${caseId}/record`);
    if (cw.caseId !== caseId) return;
    cw.version = record.version;
    writeValues(record.values);
    $("cw-record-status").className = "status";
    $("cw-record-status").textContent = record.updated_at ? `Lưu lần cuối ${fmtTime(record.updated_at)}` : "Chưa có hồ sơ: điền dần trong lúc trò chuyện, tự động lưu.";
    $("cw-returning").hidden = !record.earlier_cases;
    $("cw-returning").textContent = `Trẻ đã từng liên hệ: ${record.earlier_cases} ca trước (xem bên dưới).`;
  }

  // --- referrals ----------------------------------------------------------------------
  function renderReferral(r) {
    const li = el("li", null, r.overdue ? "cw-referral overdue" : "cw-referral");
    li.dataset.referralId = r.id;
    li.append(el("strong", r.recipient_name), el("div", `Lý do: ${r.reason}`), el("div", `Chia sẻ: ${r.shared}`, "muted"));
    const row = el("div", null, "row");
    const status = el("select"); status.setAttribute("aria-label", "Tình trạng chuyển tuyến");
    status.append(...Object.entries(REFERRAL_STATUSES).map(([v, l]) => option(v, l))); status.value = r.status;
    status.addEventListener("change", async () => {
      try { await api("PATCH", `/api/v1/referrals/${r.id}`, { status: status.value }); await loadReferrals(cw.caseId); }
      catch (e) { $("cw-referral-status").textContent = e.message; }
    });
    const print = el("button", "In phiếu"); print.type = "button";
    print.addEventListener("click", () => printForm(r.id).catch((e) => { $("cw-referral-status").textContent = e.message; }));
    row.append(status, print);
    const due = `Hẹn theo dõi: ${new Date(r.due_date + "T00:00:00").toLocaleDateString("vi-VN")}${r.overdue ? " — QUÁ HẠN" : ""}`;
    li.append(row, el("div", `${due} ${EMAIL_STATUSES[r.email_status] || ""}`, r.overdue ? "error" : "muted"));
    return li;
  }

  async function loadReferrals(caseId) {
    const items = await api("GET", `/api/v1/referrals?case_id=${caseId}`);
    if (cw.caseId !== caseId) return;
    $("cw-referrals").replaceChildren(...items.map(renderReferral));
  }

  // The form is HTML behind the bearer token: fetched, then shown from a blob: address to print.
  async function printForm(id) {
    const response = await fetch(`/api/v1/referrals/${id}/form`, { headers: { "Authorization": `Bearer ${state.token}` } });
    if (!response.ok) throw new Error(`Lỗi ${response.status}`);
    const url = URL.createObjectURL(new Blob([await response.text()], { type: "text/html" }));
    const view = window.open(url, "_blank");
    if (view) view.addEventListener("load", () => { view.print(); setTimeout(() => URL.revokeObjectURL(url), 60000); }, { once: true });
  }

  async function submitReferral(e) {
    e.preventDefault();
    const form = $("cw-referral-form");
    const body = { recipient: form.elements.recipient.value, email: form.elements.email.value.trim() || null,
                   reason: form.elements.reason.value, shared: form.elements.shared.value, due_date: form.elements.due_date.value };
    try {
      const made = await api("POST", `/api/v1/cases/${cw.caseId}/referrals`, body);
      form.elements.reason.value = ""; form.elements.shared.value = ""; form.elements.email.value = "";
      $("cw-referral-status").textContent = `Đã tạo chuyển tuyến tới ${made.recipient_name}.`;
      await loadReferrals(cw.caseId);
    } catch (err) { $("cw-referral-status").textContent = err.message; }
  }

  function defaultDueDate() {
    const d = new Date(Date.now() + 3 * 86400000);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }

  // --- earlier cases of the same child --------------------------------------------------
  async function loadHistory(caseId) {
    const earlier = await api("GET", `/api/v1/cases/${caseId}/history`);
    if (cw.caseId !== caseId) return;
    $("cw-history-section").hidden = earlier.length === 0;
    $("cw-history").replaceChildren(...earlier.map((h) => {
      const li = el("li");
      li.append(el("strong", `Ca #${h.id} (${h.reference})`), ` · ${LEVELS[h.level] || h.level} · ${h.category || "chưa rõ"} · ${OUTCOMES[h.outcome] || h.outcome || STATUSES[h.status] || h.status} · ${fmtTime(h.opened_at)}`);
      if (h.notes.length) li.append(el("ul", null, "notes"));
      for (const n of h.notes) li.lastChild.append(el("li", `${n.kind}: ${n.text}`));
      return li;
    }));
  }

  // --- canned replies -------------------------------------------------------------------
  function mountCannedPicker() {
    if ($("cw-canned")) return;
    const select = el("select"); select.id = "cw-canned"; select.setAttribute("aria-label", "Câu trả lời mẫu");
    select.append(option("", "Chọn câu trả lời mẫu…"));
    const groups = {};
    for (const r of cw.canned) {
      if (!groups[r.situation]) { groups[r.situation] = el("optgroup"); groups[r.situation].label = r.situation; select.append(groups[r.situation]); }
      groups[r.situation].append(option(String(r.id), r.title));
    }
    const insert = el("button", "Chèn vào ô trả lời"); insert.type = "button"; insert.id = "cw-canned-insert";
    insert.addEventListener("click", () => {
      const reply = cw.canned.find((r) => String(r.id) === select.value);
      const box = $("reply-text");
      if (!reply || box.disabled) return;
      const start = box.selectionStart ?? box.value.length; const end = box.selectionEnd ?? box.value.length;
      box.value = box.value.slice(0, start) + reply.text + box.value.slice(end);  // edited before sending
      box.focus(); box.selectionStart = box.selectionEnd = start + reply.text.length;
    });
    const row = el("div", null, "row cw-canned-row");
    const label = el("label", "Câu trả lời mẫu", "grow"); label.append(select);
    row.append(label, insert);
    $("reply-form").before(row);
  }

  // --- mount and show -------------------------------------------------------------------
  function mount() {
    const panel = $("casework");
    panel.replaceChildren();
    const returning = el("p", null, "banner ops"); returning.id = "cw-returning"; returning.hidden = true;
    const record = el("form", null, "cw-record"); record.id = "cw-record"; record.addEventListener("submit", (e) => e.preventDefault());
    const recordStatus = el("p", null, "status"); recordStatus.id = "cw-record-status"; recordStatus.setAttribute("role", "status");
    const referralForm = el("form", null, "cw-referral-form"); referralForm.id = "cw-referral-form";
    const recipient = el("select"); recipient.name = "recipient";
    recipient.append(...cw.recipients.map((r) => option(r.value, r.label)));
    const email = el("input"); email.name = "email"; email.type = "email"; email.placeholder = "nếu gửi e-mail";
    const reason = el("textarea"); reason.name = "reason"; reason.rows = 2; reason.maxLength = 2000; reason.required = true;
    const shared = el("textarea"); shared.name = "shared"; shared.rows = 2; shared.maxLength = 2000; shared.required = true;
    const due = el("input"); due.name = "due_date"; due.type = "date"; due.required = true; due.value = defaultDueDate();
    const send = el("button", "Chuyển tuyến"); send.type = "submit";
    referralForm.append(field("Nơi nhận", recipient), field("E-mail nơi nhận", email), field("Lý do", reason),
                        field("Thông tin chia sẻ", shared, "Chỉ những gì nơi nhận cần để giúp trẻ; không ghi tên tài khoản, số điện thoại của trẻ nếu trẻ chưa đồng ý."),
                        field("Hẹn theo dõi", due), send);
    referralForm.addEventListener("submit", submitReferral);
    const referralStatus = el("p", null, "status"); referralStatus.id = "cw-referral-status"; referralStatus.setAttribute("role", "status");
    const referrals = el("ul", null, "cw-list"); referrals.id = "cw-referrals";
    const historySection = el("section"); historySection.id = "cw-history-section"; historySection.hidden = true;
    const history = el("ul", null, "cw-list"); history.id = "cw-history";
    historySection.append(el("h3", "Các ca trước của trẻ"), history);
    panel.append(el("h2", "Hồ sơ ca"), returning, recordStatus, record, el("h3", "Chuyển tuyến"), referralForm,
                 referralStatus, referrals, historySection);
    buildRecordForm();
    mountCannedPicker();
  }

  // Fetched once per page (every show() waits for the same promise, so the panel is built once).
  function loadLibrary() {
    if (!cw.library) {
      cw.library = Promise.all([api("GET", "/api/v1/case-record/schema"), api("GET", "/api/v1/canned-replies"),
                                api("GET", "/api/v1/referral-recipients")]).then(([schema, canned, recipients]) => {
        cw.schema = schema; cw.canned = canned; cw.recipients = recipients;
        mount();
      }).catch((e) => { cw.library = null; throw e; });
    }
    return cw.library;
  }

  // Called by console.js each time it (re)draws a case: the record is rebuilt only for another case,
  // so a counselor typing in it is never interrupted by a live update of the same case.
  async function show(c) {
    await loadLibrary();
    $("casework").hidden = false;
    if (cw.caseId !== c.id) {
      if (cw.dirty) await save();
      cw.caseId = c.id; cw.dirty = false;
      setEditable(false);  // until the stored record is in the form: nothing typed is overwritten
      $("cw-record").reset(); $("cw-referral-status").textContent = ""; $("cw-record-status").textContent = "Đang tải hồ sơ…";
      await loadRecord(c.id);
      await loadHistory(c.id);
      if (cw.caseId !== c.id) return;  // another case was opened meanwhile
    }
    // Open until closed; a case another counselor holds is theirs (and supervisors') to fill in.
    const editable = c.status !== "closed" && (c.status !== "active" || mayAct(c));
    if (!editable && cw.dirty) await save();
    if (editable !== cw.editable) setEditable(editable);
    await loadReferrals(c.id);
  }

  function onEvent(ev) {
    if (ev.type !== "referral_overdue" || !state.me) return;
    const mine = (ev.owner_user_ids || []).includes(state.me.id) || ["supervisor", "admin"].includes(state.me.role);
    if (!mine) return;
    beep(true);
    showBanner(`Chuyển tuyến ${ev.reference} tới ${ev.recipient_name} đã quá hạn theo dõi.`);
    if (ev.case_id === cw.caseId) loadReferrals(cw.caseId).catch(() => {});
  }

  window.addEventListener("beforeunload", () => { if (cw.dirty) save(); });
  return { show, onEvent, save };
})();
window.Casework = Casework;
