// Personal data (the privacy API, docs/privacy.md): admins export or erase one person's data and
// read the retention policy and the consent summary; supervisors decide erasure requests and place
// or release a legal hold on a case. Loaded after console.js and uses its `state`, `api`, `el`, `$`,
// `fmtTime`, `LB` and `confirmAction`; console.js calls Privacy.enter(), Privacy.forget(), Privacy.showCase(case) and
// Privacy.userActions(user, cell). A counselor sees none of it (and the API refuses them anyway).
"use strict";

const Privacy = (() => {
  const RULES = { closed_cases: "Ca đã đóng", conversations: "Cuộc trò chuyện", message_rows: "Bản ghi tin nhắn đã xử lý",
                  delivery_logs: "Nhật ký gửi tin", audit_log: "Nhật ký thao tác", webchat_mailbox: "Hộp thư trò chuyện trên web" };
  const ACTIONS = { closed_cases: "Ẩn danh hoá: xoá tin nhắn, ghi chú, cảnh báo; giữ mức rủi ro, chủ đề, kết quả, ngày",
                    conversations: "Xoá cùng mọi dữ liệu đi kèm (trừ khi đang đăng ký nhận tin)",
                    message_rows: "Xoá các bản ghi đã xử lý (trừ cuộc trò chuyện có ca đang mở hoặc bị giữ)",
                    delivery_logs: "Xoá bản ghi đã gửi hoặc gửi lỗi", audit_log: "Xoá",
                    webchat_mailbox: "Trò chuyện trên web tự xoá sau 24 giờ" };
  const PURPOSES = { answering_questions: "Trả lời câu hỏi", child_protection: "Bảo vệ trẻ em", broadcasts: "Nhận tin định kỳ" };
  const BASES = { consent_by_use: "Đồng ý khi sử dụng", vital_interest_legal_duty: "Lợi ích sống còn, nghĩa vụ pháp lý",
                  opt_in_consent: "Đồng ý chủ động (đăng ký)" };
  const TABLES = { conversations: "cuộc trò chuyện", inbound_messages: "tin nhắn đến", outbound_messages: "tin nhắn đi",
                   cases: "ca", case_messages: "tin nhắn trong ca", case_notes: "ghi chú ca", notifications: "cảnh báo",
                   cases_anonymised: "ca được ẩn danh hoá", rasa_tracker: "sự kiện của trợ lý", privacy_consents: "bản ghi đồng ý",
                   content_inbox_items: "câu hỏi trong hộp thư", content_subscribers: "đăng ký nhận tin" };
  const STATUSES = { awaiting_confirmation: "Chờ trẻ xác nhận", supervisor: "Chờ giám sát quyết định", erasing: "Đang xoá",
                     done: "Đã xoá", declined: "Bị từ chối", cancelled: "Đã huỷ" };
  const VIA = { chat: "trẻ yêu cầu trong trò chuyện", api: "quản trị viên", cli: "dòng lệnh" };
  const pv = { built: false, people: new Map(), downloadUrl: null };

  const isAdmin = () => state.me && state.me.role === "admin";
  const isSupervising = () => state.me && ["supervisor", "admin"].includes(state.me.role);
  const vietnamese = (message) => String(message || "").split(" / ")[0];
  const personName = (id) => (id ? pv.people.get(id) || `tài khoản #${id}` : "—");

  function button(text, onClick, className) {
    const b = el("button", text, className); b.type = "button"; b.addEventListener("click", onClick); return b;
  }

  function field(labelText, control) {
    const label = el("label", labelText); label.append(control); return label;
  }

  function channelSelect(id) {
    const select = el("select"); select.id = id; select.required = true;
    for (const [code, name] of Object.entries(LB.channels || {})) { const o = el("option", name); o.value = code; select.append(o); }
    return select;
  }

  function table(caption, headers, rows) {
    const t = el("table");
    t.append(el("caption", caption));
    const head = el("tr"); head.append(...headers.map((h) => { const th = el("th", h); th.scope = "col"; return th; }));
    const thead = el("thead"); thead.append(head);
    const tbody = el("tbody");
    tbody.append(...rows.map((cells) => { const tr = el("tr"); tr.append(...cells.map((c) => (c instanceof Node ? wrapCell(c) : el("td", c)))); return tr; }));
    t.append(thead, tbody);
    return t;
  }

  function wrapCell(node) { const td = el("td"); td.append(node); return td; }

  // --- the panel ----------------------------------------------------------------------
  function build() {
    const view = $("privacy-view");
    const admin = el("div"); admin.id = "pv-admin";
    admin.append(personForm("pv-export", "Xuất dữ liệu của một người", "Xuất dữ liệu", false),
                 el("div", null, "pv-result"), personForm("pv-erase", "Xoá dữ liệu của một người", "Xoá dữ liệu…", true),
                 el("div", null, "pv-result"), section("pv-retention", "Chính sách lưu giữ"), section("pv-consents", "Tổng hợp đồng ý"));
    admin.querySelectorAll(".pv-result")[0].id = "pv-export-result";
    admin.querySelectorAll(".pv-result")[1].id = "pv-erase-result";
    const requests = section("pv-requests", "Yêu cầu xoá dữ liệu chờ quyết định");
    const status = el("p", null, "status"); status.id = "pv-message"; status.setAttribute("role", "status");
    const title = el("h2", "Dữ liệu cá nhân"); title.id = "privacy-title"; title.tabIndex = -1;
    view.append(title, admin, requests, status);
    $("pv-export").addEventListener("submit", (e) => { e.preventDefault(); exportPerson().catch(showError); });
    $("pv-erase").addEventListener("submit", (e) => { e.preventDefault(); erasePerson().catch(showError); });
    pv.built = true;
  }

  function section(id, title) {
    const s = el("section"); s.id = id; s.setAttribute("aria-labelledby", `${id}-title`);
    const h = el("h3", title); h.id = `${id}-title`; h.tabIndex = -1;
    const body = el("div"); body.id = `${id}-body`;
    s.append(h, body);
    return s;
  }

  function personForm(id, title, submitText, withReason) {
    const form = el("form", null, "pv-form"); form.id = id; form.setAttribute("aria-labelledby", `${id}-title`);
    const h = el("h3", title); h.id = `${id}-title`;
    const user = el("input"); user.id = `${id}-user`; user.required = true; user.maxLength = 128; user.autocomplete = "off";
    const row = el("div", null, "row");
    row.append(field("Kênh", channelSelect(`${id}-channel`)), field("Mã người dùng trên kênh", user));
    form.append(h, row);
    if (withReason) {
      const reason = el("textarea"); reason.id = `${id}-reason`; reason.rows = 2; reason.maxLength = 500; reason.required = true;
      form.append(field("Lý do (bắt buộc)", reason));
    }
    const submit = el("button", submitText); submit.type = "submit";
    form.append(submit);
    return form;
  }

  function showError(error) { $("pv-message").textContent = vietnamese(error.message); }

  function person(id) {
    return { channel: $(`${id}-channel`).value, user_id: $(`${id}-user`).value.trim() };
  }

  // --- export -------------------------------------------------------------------------
  async function exportPerson() {
    $("pv-message").textContent = "";
    const who = person("pv-export");
    const data = await api("POST", "/api/v1/privacy/export", who);
    const box = $("pv-export-result");
    if (pv.downloadUrl) URL.revokeObjectURL(pv.downloadUrl);
    const heading = el("h4", data.found ? "Dữ liệu đã xuất" : "Không tìm thấy dữ liệu nào của người này"); heading.tabIndex = -1;
    if (!data.found) { box.replaceChildren(heading); heading.focus(); return; }
    pv.downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    const link = el("a", "Tải tệp JSON"); link.href = pv.downloadUrl; link.id = "pv-export-download";
    link.download = `du-lieu-${who.channel}-${who.user_id.replace(/[^A-Za-z0-9_-]/g, "_")}.json`;
    const summary = el("ul");
    summary.append(el("li", `Kênh: ${LB.channels[data.channel] || data.channel}`), el("li", `Tin nhắn: ${data.messages.length}`),
                   el("li", `Ca: ${data.cases.length}`), el("li", `Câu hỏi trong hộp thư: ${data.inbox.length}`),
                   el("li", `Bản ghi đồng ý: ${data.consents.length}`), el("li", `Yêu cầu xoá: ${data.erasure_requests.length}`));
    const raw = el("pre", JSON.stringify(data, null, 2), "pv-json");
    raw.tabIndex = 0;  // it scrolls on its own: reachable for keyboard scrolling
    const details = el("details"); details.append(el("summary", "Xem toàn bộ dữ liệu"), raw);
    box.replaceChildren(heading, summary, link, details);
    heading.focus();
  }

  // --- erase --------------------------------------------------------------------------
  async function erasePerson() {
    $("pv-message").textContent = "";
    const who = person("pv-erase");
    const reason = $("pv-erase-reason").value.trim();
    if (!reason) { $("pv-message").textContent = "Hãy ghi lý do."; $("pv-erase-reason").focus(); return; }
    const ok = await confirmAction({ title: "Xoá dữ liệu của người này?",
      text: `Mọi dữ liệu của ${who.user_id} (${LB.channels[who.channel] || who.channel}) sẽ bị xoá vĩnh viễn, không khôi phục được.`,
      ok: "Xoá vĩnh viễn" });
    if (ok === null) { $("pv-erase").querySelector("button[type=submit]").focus(); return; }
    const box = $("pv-erase-result");
    const heading = el("h4"); heading.tabIndex = -1;
    try {
      const data = await api("POST", "/api/v1/privacy/erase", { ...who, reason });
      heading.textContent = data.found ? `Đã xoá dữ liệu (yêu cầu #${data.request_id})` : "Không tìm thấy dữ liệu nào của người này";
      const counts = el("ul"); counts.id = "pv-erase-counts";
      counts.append(...Object.entries(data.erased).filter(([, n]) => n > 0).map(([name, n]) => el("li", `${TABLES[name] || name}: ${n}`)));
      box.replaceChildren(heading, counts);
      $("pv-erase").reset();
    } catch (error) {
      if (error.status !== 409) throw error;
      heading.textContent = "Chưa xoá: cần giám sát viên quyết định";
      box.replaceChildren(heading, el("p", `${vietnamese(error.message).replace(/\.$/, "")}. Dữ liệu được giữ nguyên cho tới khi giám sát viên duyệt.`));
      loadRequests().catch(showError);
    }
    heading.focus();
  }

  // --- policy and consents -------------------------------------------------------------
  async function loadRetention() {
    const rules = await api("GET", "/api/v1/privacy/retention");
    $("pv-retention-body").replaceChildren(table("Dữ liệu được giữ bao lâu", ["Loại dữ liệu", "Thời hạn", "Sau thời hạn", "Cài đặt (biến môi trường)"],
      rules.map((r) => [RULES[r.rule] || r.rule, r.days ? `${r.days} ngày` : "Không giới hạn", ACTIONS[r.rule] || r.action, r.setting || "—"])));
  }

  async function loadConsents() {
    const rows = await api("GET", "/api/v1/privacy/consents/summary");
    const body = $("pv-consents-body");
    if (!rows.length) { body.replaceChildren(el("p", "Chưa có bản ghi đồng ý nào.", "muted")); return; }
    body.replaceChildren(table("Theo mục đích xử lý", ["Mục đích", "Cơ sở pháp lý", "Đã xem thông báo", "Đã đồng ý", "Đã rút lại"],
      rows.map((r) => [PURPOSES[r.purpose] || r.purpose, BASES[r.legal_basis] || r.legal_basis, r.notice_shown, r.granted, r.withdrawn])));
  }

  // --- erasure requests (supervisors) --------------------------------------------------
  async function loadRequests() {
    const waiting = await api("GET", "/api/v1/privacy/requests");
    await loadPeople(waiting.map((r) => r.requested_by));
    const body = $("pv-requests-body");
    if (!waiting.length) { body.replaceChildren(el("p", "Không có yêu cầu nào chờ quyết định.", "muted")); return; }
    body.replaceChildren(table("Mới nhất trước", ["Yêu cầu", "Kênh", "Ai yêu cầu", "Lý do", "Lúc", "Quyết định"], waiting.map((r) => {
      const actions = el("div", null, "row");
      actions.append(button("Duyệt xoá", () => decide(r, true)), button("Từ chối", () => decide(r, false), "secondary"));
      actions.querySelectorAll("button").forEach((b) => b.setAttribute("aria-label", `${b.textContent} yêu cầu #${r.id}`));
      return [`#${r.id}`, LB.channels[r.channel] || r.channel, r.via === "api" ? personName(r.requested_by) : VIA[r.via] || r.via,
              r.reason || "—", fmtTime(r.created_at), actions];
    })));
  }

  async function decide(request, approve) {
    const reason = await confirmAction({
      title: approve ? `Duyệt xoá dữ liệu (yêu cầu #${request.id})?` : `Từ chối yêu cầu #${request.id}?`,
      text: approve ? "Dữ liệu của người này sẽ bị xoá vĩnh viễn; ca đang mở được ẩn danh hoá." : "Dữ liệu được giữ lại; người yêu cầu được báo.",
      ok: approve ? "Duyệt xoá" : "Từ chối", askReason: true });
    if (reason === null) { $("pv-requests-title").focus(); return; }
    try {
      const done = await api("POST", `/api/v1/privacy/requests/${request.id}/decision`, { approve, reason });
      $("pv-message").textContent = `Yêu cầu #${done.id}: ${STATUSES[done.status] || done.status}.`;
    } catch (error) { showError(error); }
    await loadRequests();
    $("pv-requests-title").focus();
  }

  // --- legal hold on a case (supervisors) ----------------------------------------------
  async function showCase(c) {
    const box = $("case-hold");
    if (!box) return;
    box.hidden = !isSupervising();
    if (box.hidden) { box.replaceChildren(); return; }
    const holds = await api("GET", "/api/v1/privacy/holds");
    const hold = holds.find((h) => h.case_id === c.id);
    if (hold) await loadPeople([hold.held_by]);
    if (state.caseId !== c.id) return;  // another case was opened meanwhile
    const title = el("h3", "Giữ theo yêu cầu pháp lý"); title.id = "hold-title";
    const text = el("p", hold ? `Ca đang bị giữ: dữ liệu không bị xoá tự động hay theo yêu cầu. Do ${personName(hold.held_by)} đặt lúc ${fmtTime(hold.held_at)}. Lý do: ${hold.reason}`
                              : "Ca không bị giữ: dữ liệu theo chính sách lưu giữ thông thường.");
    text.id = "hold-state";
    const toggle = button(hold ? "Bỏ giữ" : "Giữ ca này", () => toggleHold(c.id, Boolean(hold)));
    toggle.id = "hold-toggle"; toggle.setAttribute("aria-pressed", String(Boolean(hold))); toggle.setAttribute("aria-describedby", "hold-state");
    box.replaceChildren(title, text, toggle);
  }

  async function toggleHold(caseId, held) {
    const reason = await confirmAction({
      title: held ? `Bỏ giữ ca #${caseId}?` : `Giữ ca #${caseId} theo yêu cầu pháp lý?`,
      text: held ? "Sau khi bỏ giữ, dữ liệu của ca theo chính sách lưu giữ thông thường." : "Khi bị giữ, ca và cuộc trò chuyện của nó không bị xoá tự động hay theo yêu cầu.",
      ok: held ? "Bỏ giữ" : "Giữ ca", askReason: true });
    if (reason !== null) {
      try {
        await (held ? api("POST", `/api/v1/privacy/holds/${caseId}/release`, { reason }) : api("PUT", `/api/v1/privacy/holds/${caseId}`, { reason }));
        $("case-message").textContent = held ? "Đã bỏ giữ ca." : "Đã giữ ca theo yêu cầu pháp lý.";
      } catch (error) { $("case-message").textContent = vietnamese(error.message); }
      if (state.caseData && state.caseData.id === caseId) await showCase(state.caseData);
    }
    const again = $("hold-toggle"); if (again) again.focus();
  }

  // Names of staff accounts, fetched again only when an id is not known yet.
  async function loadPeople(ids) {
    if (ids && ids.every((id) => !id || pv.people.has(id))) return;
    const people = isAdmin() ? await api("GET", "/api/v1/users") : await api("GET", "/api/v1/colleagues");
    for (const p of people) pv.people.set(p.id, p.display_name || p.email || `#${p.id}`);
  }

  // --- two-factor reset (admins, in the accounts table) ---------------------------------
  function userActions(user, cell) {
    if (!isAdmin() || user.id === state.me.id) return;
    const reset = button("Đặt lại đăng nhập hai bước", async () => {
      const ok = await confirmAction({ title: `Đặt lại đăng nhập hai bước của ${user.email}?`,
        text: "Tài khoản bị đăng xuất khắp nơi và phải bật lại đăng nhập hai bước ở lần đăng nhập sau.", ok: "Đặt lại" });
      if (ok !== null) {
        try {
          const done = await api("POST", `/api/v1/users/${user.id}/two-factor/reset`);
          $("users-message").textContent = done.was_enrolled ? `Đã đặt lại đăng nhập hai bước của ${user.email}.`
            : `${user.email} chưa bật đăng nhập hai bước; tài khoản đã được đăng xuất khắp nơi.`;
        } catch (error) { $("users-message").textContent = vietnamese(error.message); }
      }
      reset.focus();
    }, "secondary");
    reset.setAttribute("aria-label", `Đặt lại đăng nhập hai bước của ${user.email}`);
    cell.append(" ", reset);
  }

  // --- entry ----------------------------------------------------------------------------
  async function open() {
    if (!pv.built) build();
    $("pv-admin").hidden = !isAdmin();
    await Promise.all([loadRequests(), ...(isAdmin() ? [loadRetention(), loadConsents()] : [])]);
  }

  // A new sign-in starts clean: nothing one person exported stays in the page for the next.
  function forget() {
    if (!pv.built) return;
    if (pv.downloadUrl) { URL.revokeObjectURL(pv.downloadUrl); pv.downloadUrl = null; }
    for (const id of ["pv-export-result", "pv-erase-result", "pv-requests-body", "pv-retention-body", "pv-consents-body"]) $(id).replaceChildren();
    $("pv-export").reset(); $("pv-erase").reset(); $("pv-message").textContent = "";
    pv.people.clear();
  }

  function enter() {
    const toggle = $("privacy-toggle"), view = $("privacy-view");
    forget();
    toggle.hidden = !isSupervising(); view.hidden = true; toggle.setAttribute("aria-expanded", "false");
    if (!pv.wired) {
      pv.wired = true;
      toggle.addEventListener("click", () => {
        view.hidden = !view.hidden; toggle.setAttribute("aria-expanded", String(!view.hidden));
        if (!view.hidden) open().then(() => $("privacy-title").focus()).catch(showError);
      });
    }
  }

  return { enter, forget, showCase, userActions, vietnamese };
})();
window.Privacy = Privacy;
