// Two-factor sign-in for both consoles. After a correct password the login API may answer
// {two_factor: "code"|"enrol", challenge_token}; TwoFactor.complete() then asks for the code (or
// shows the QR code to enrol, then the recovery codes once) inside the login card, and resolves
// with the session ({access_token, user, expires_in}) as the login itself would have.
"use strict";
window.TwoFactor = (() => {
  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  async function call(method, path, token, body) {
    const headers = { "Accept": "application/json", "Authorization": `Bearer ${token}` };
    if (body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return readAnswer(response);
  }

  // An API response → its JSON body, or an Error with the server's message (and `status`).
  async function readAnswer(response) {
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

  // A panel in the login card in place of the password form; removed when the sign-in ends.
  function panel(container, title) {
    const loginForm = container.querySelector("form");
    if (loginForm) loginForm.hidden = true;
    const box = el("div", null, { id: "two-factor", class: "two-factor" });
    box.append(el("h3", title));
    container.append(box);
    const close = () => { box.remove(); if (loginForm) loginForm.hidden = false; };
    return { box, close };
  }

  // A one-field form; `submit(code)` resolves to finish, or throws to show the error and stay.
  function codeForm(box, label, hint, submit) {
    return new Promise((resolve, reject) => {
      const form = el("form", null, { id: "two-factor-form" });
      const input = el("input", null, { id: "two-factor-code", name: "code", autocomplete: "one-time-code",
                                         required: "", maxlength: "32", autocapitalize: "characters" });
      const field = el("label", label);
      field.append(input);
      const error = el("p", "", { id: "two-factor-error", class: "error", role: "alert" });
      const back = el("button", "Quay lại", { type: "button", class: "secondary" });
      form.append(el("p", hint), field, el("button", "Xác nhận", { type: "submit" }), back, error);
      box.append(form);
      input.focus();
      back.addEventListener("click", () => reject(new Error("")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.textContent = "";
        try { resolve(await submit(input.value.trim())); } catch (err) {
          if (err.status === 401 && /hết hạn|expired/.test(err.message)) { reject(err); return; }
          error.textContent = err.message; input.value = ""; input.focus();
        }
      });
    });
  }

  async function askCode(token, container) {
    const { box, close } = panel(container, "Xác thực hai bước");
    try {
      return await codeForm(box, "Mã xác thực",
        "Nhập mã 6 số trong ứng dụng xác thực trên điện thoại (hoặc một mã khôi phục).",
        (code) => call("POST", "/api/v1/auth/two-factor/verify", token, { challenge_token: token, code }));
    } finally { close(); }
  }

  function showRecoveryCodes(box, codes) {
    return new Promise((resolve) => {
      box.replaceChildren(el("h3", "Mã khôi phục"),
        el("p", "Mỗi mã dùng được một lần khi không có điện thoại. Hãy chép hoặc in và cất ở nơi an toàn: " +
                "các mã này chỉ hiện một lần."));
      const list = el("ul", null, { id: "recovery-codes", class: "recovery-codes" });
      list.style.fontFamily = "monospace"; list.style.fontSize = "1.1em";  // styled here: one script for both consoles
      for (const code of codes) list.append(el("li", code));
      const done = el("button", "Tôi đã lưu các mã này", { type: "button", id: "recovery-saved" });
      done.addEventListener("click", () => resolve());
      box.append(list, done);
      done.focus();
    });
  }

  async function enrol(token, container) {
    const { box, close } = panel(container, "Bật xác thực hai bước");
    try {
      const setup = await call("POST", "/api/v1/auth/two-factor/enrol", token);
      box.append(el("p", "Tài khoản này đọc thông tin của trẻ nên cần thêm một lớp bảo vệ. Mở ứng dụng xác " +
                         "thực (Google Authenticator, Microsoft Authenticator, FreeOTP…) và quét mã QR:"),
                 el("img", null, { src: setup.qr_code, alt: "Mã QR để thêm tài khoản vào ứng dụng xác thực",
                                   width: "200", height: "200", id: "two-factor-qr", class: "two-factor-qr" }),
                 el("p", "Hoặc nhập khoá này bằng tay:"),
                 el("code", setup.secret, { id: "two-factor-secret" }));
      const result = await codeForm(box, "Mã xác thực", "Nhập mã 6 số ứng dụng hiện ra để xác nhận.",
        (code) => call("POST", "/api/v1/auth/two-factor/enrol/confirm", token, { code }));
      await showRecoveryCodes(box, result.recovery_codes);
      return result.session;
    } finally { close(); }
  }

  // The login API's answer → the session (asking for what it needs first).
  async function complete(answer, container) {
    if (!answer || answer.access_token) return answer;
    if (answer.two_factor === "code") return askCode(answer.challenge_token, container);
    return enrol(answer.challenge_token, container);
  }

  return { complete, readAnswer };
})();
