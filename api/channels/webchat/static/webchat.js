/* Web chat for the campaign site. Plain JS, no dependencies, no third-party requests.
 * The browser's id, the transcript and who answers now live in sessionStorage only: they survive a
 * reload of this tab, vanish when the tab closes, and "Thoát nhanh" (or Esc twice) wipes them at once. */
(function () {
  "use strict";

  var NEUTRAL_URL = "https://www.google.com/search?q=thoi+tiet";
  var ID_KEY = "cp-webchat-id";
  var LAST_KEY = "cp-webchat-last";
  var LOG_KEY = "cp-webchat-log";
  var MODE_KEY = "cp-webchat-mode";
  var ALL_KEYS = [ID_KEY, LAST_KEY, LOG_KEY, MODE_KEY];
  var MAX_KEPT = 200; // messages kept for a reload; older ones leave the tab's storage
  var POLL_WAIT_SECONDS = 20;
  var ESCAPE_TWICE_MS = 1500;
  var HOTLINES = /(111|113|115)/;

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message-input");
  var sendButton = document.getElementById("send-button");
  var statusLine = document.getElementById("status");
  var handoffState = document.getElementById("handoff-state");
  var exitButton = document.getElementById("quick-exit");

  var leaving = false;
  var pollController = null;
  var lastEscape = 0;

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    window.crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function storageGet(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    if (leaving) { return; }
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* private mode or full: keep it in memory */ }
  }
  function readJson(key, fallback) {
    try { return JSON.parse(storageGet(key) || "null") || fallback; } catch (e) { return fallback; }
  }

  var clientId = storageGet(ID_KEY);
  if (!clientId || !/^[A-Za-z0-9_-]{16,64}$/.test(clientId)) {
    clientId = randomId(16);
    storageSet(ID_KEY, clientId);
  }
  var lastId = parseInt(storageGet(LAST_KEY) || "0", 10) || 0;
  var transcript = readJson(LOG_KEY, []);
  if (!Array.isArray(transcript)) { transcript = []; }
  var mode = readJson(MODE_KEY, { mode: "bot" });

  /* ---- quick exit: leave at once, leave nothing on screen or in the tab ---- */
  function quickExit() {
    leaving = true;
    if (pollController) { pollController.abort(); }
    log.textContent = "";
    input.value = "";
    try { ALL_KEYS.forEach(function (key) { window.sessionStorage.removeItem(key); }); } catch (e) { /* ignore */ }
    document.title = "Thời tiết";
    try {
      if (window.top && window.top !== window) { window.top.location.replace(NEUTRAL_URL); return; }
    } catch (e) { /* cross-origin frame: leave this frame at least */ }
    window.location.replace(NEUTRAL_URL);
  }
  exitButton.addEventListener("click", quickExit);
  // Esc twice in a row, from anywhere on the page (once alone closes menus and IME candidates).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.isComposing) { return; }
    var now = Date.now();
    if (now - lastEscape <= ESCAPE_TWICE_MS) { event.preventDefault(); quickExit(); return; }
    lastEscape = now;
  });

  /* ---- rendering ---- */
  function appendTextWithHotlines(parent, text) {
    // Hotline numbers become tap-to-call links; everything else stays plain text (never HTML).
    var parts = text.split(HOTLINES);
    parts.forEach(function (part) {
      if (!part) { return; }
      if (HOTLINES.test(part) && part.length === 3) {
        var link = document.createElement("a");
        link.href = "tel:" + part;
        link.textContent = part;
        parent.appendChild(link);
      } else {
        parent.appendChild(document.createTextNode(part));
      }
    });
  }

  function scrollToEnd() {
    var last = log.lastElementChild;
    if (last && typeof last.scrollIntoView === "function") { last.scrollIntoView({ block: "end" }); }
    log.scrollTop = log.scrollHeight;
  }

  function counselorTitle(name) { return name ? "Tư vấn viên " + name : "Tư vấn viên"; }

  // A message bubble. Screen readers hear who speaks; a counselor (and a notice naming one) also
  // shows the name on screen.
  function newBubble(kind, name) {
    var bubble = document.createElement("div");
    bubble.className = "msg " + kind;
    if (kind === "counselor" || (kind === "system" && name)) {
      var author = document.createElement("span");
      author.className = "author";
      author.textContent = counselorTitle(name);
      bubble.appendChild(author);
      var says = document.createElement("span");
      says.className = "visually-hidden";
      says.textContent = kind === "system" ? " (thông báo): " : " nói: ";
      author.appendChild(says);
      return bubble;
    }
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = { user: "Bạn", bot: "Trợ lý", system: "Thông báo" }[kind] + ": ";
    bubble.appendChild(label);
    return bubble;
  }

  function remember(entry) {
    transcript.push(entry);
    if (transcript.length > MAX_KEPT) { transcript = transcript.slice(-MAX_KEPT); }
    saveTranscript();
  }
  function saveTranscript() { storageSet(LOG_KEY, JSON.stringify(transcript)); }

  function renderUser(entry) {
    var bubble = newBubble("user");
    bubble.appendChild(document.createTextNode(entry.text));
    log.appendChild(bubble);
  }

  function renderReply(entry) {
    var kind = entry.kind === "counselor" || entry.kind === "system" ? entry.kind : "bot";
    var bubble = newBubble(kind, entry.name);
    if (entry.text) {
      var p = document.createElement("p");
      p.className = "text";
      appendTextWithHotlines(p, entry.text);
      bubble.appendChild(p);
    }
    if (entry.image) {
      var img = document.createElement("img");
      img.src = entry.image;
      img.alt = kind === "counselor" ? "Hình ảnh từ tư vấn viên" : "Hình ảnh từ trợ lý";
      img.addEventListener("load", scrollToEnd);
      bubble.appendChild(img);
    }
    if (entry.buttons && entry.buttons.length) { bubble.appendChild(quickReplies(entry)); }
    log.appendChild(bubble);
  }

  function quickReplies(entry) {
    var group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Gợi ý trả lời");
    entry.buttons.forEach(function (button) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "quick-reply";
      b.textContent = button.title;
      b.disabled = !!entry.answered;
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
        entry.answered = true;
        saveTranscript();
        send(button.title, button.payload);
        input.focus(); // the tapped button is disabled now: carry on typing
      });
      group.appendChild(b);
    });
    return group;
  }

  function render(entry) {
    if (entry.kind === "user") { renderUser(entry); } else { renderReply(entry); }
  }

  function addEntry(entry) {
    remember(entry);
    render(entry);
    scrollToEnd();
  }

  function setStatus(text) { statusLine.textContent = text; }

  /* ---- who answers now: the bot, nobody yet (a counselor was told), or a counselor ---- */
  function showMode(next) {
    if (!next || typeof next.mode !== "string") { return; }
    mode = next;
    storageSet(MODE_KEY, JSON.stringify(mode));
    var text = "";
    if (mode.mode === "waiting") {
      text = "Đang chờ tư vấn viên. Bạn vẫn có thể nhắn tin trong lúc chờ; cần giúp ngay, gọi 111.";
    } else if (mode.mode === "counselor") {
      text = counselorTitle(mode.counselor) + " đang trò chuyện với bạn.";
    }
    if (handoffState.textContent !== text) { handoffState.textContent = text; }
    handoffState.hidden = !text;
  }

  /* ---- sending ---- */
  function postMessage(body, attempt) {
    return fetch("/webchat/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.status >= 500 && attempt < 3) {
        return wait(500 * attempt).then(function () { return postMessage(body, attempt + 1); });
      }
      return response;
    }, function (error) {
      if (attempt < 3) { return wait(500 * attempt).then(function () { return postMessage(body, attempt + 1); }); }
      throw error;
    });
  }

  function send(text, payload) {
    text = (text || "").trim();
    if (!text || leaving) { return; }
    addEntry({ kind: "user", text: text });
    var body = { client_id: clientId, text: text, message_id: randomId(12) };
    if (payload) { body.payload = payload.slice(0, 300); }
    sendButton.disabled = true;
    setStatus("Đang gửi…");
    postMessage(body, 1).then(function (response) {
      if (response.status === 202) {
        setStatus(mode.mode === "counselor" ? "Đã gửi cho tư vấn viên." : "Trợ lý đang trả lời…");
      } else if (response.status === 429) {
        setStatus("Bạn nhắn hơi nhanh, đợi một chút rồi gửi tiếp nhé.");
      } else if (response.status === 413 || response.status === 422) {
        // The gateway says why in words meant for the person (e.g. a message that is too long).
        return response.json().then(function (data) {
          setStatus(data.message || "Tin nhắn chưa gửi được. Bạn thử lại nhé. Nếu cần giúp ngay, gọi 111.");
        });
      } else {
        setStatus("Tin nhắn chưa gửi được. Bạn thử lại nhé. Nếu cần giúp ngay, gọi 111.");
      }
    }, function () {
      setStatus("Mất kết nối. Bạn thử lại nhé. Nếu cần giúp ngay, gọi 111.");
    }).then(function () {
      sendButton.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { input.focus(); return; }
    input.value = "";
    send(text);
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit")); }
    }
  });

  /* ---- receiving (long poll) ---- */
  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function replyEntry(message) {
    var author = message.author || {};
    var entry = { kind: author.kind || "bot", text: message.text || "" };
    if (author.name) { entry.name = author.name; }
    if (message.image) { entry.image = message.image; }
    if (message.buttons && message.buttons.length) { entry.buttons = message.buttons; }
    return entry;
  }

  function poll() {
    if (leaving) { return; }
    pollController = typeof AbortController === "function" ? new AbortController() : null;
    var url = "/webchat/messages?client_id=" + encodeURIComponent(clientId) +
      "&after=" + lastId + "&wait=" + POLL_WAIT_SECONDS;
    fetch(url, { cache: "no-store", credentials: "same-origin", signal: pollController ? pollController.signal : undefined })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (leaving) { return; }
        (data.messages || []).forEach(function (message) {
          if (message.id > lastId) {
            addEntry(replyEntry(message));
            lastId = message.id;
          }
        });
        storageSet(LAST_KEY, String(lastId));
        showMode(data.status);
        if ((data.messages || []).length) { setStatus(""); }
        poll();
      })
      .catch(function () {
        if (!leaving) { wait(2000).then(poll); }
      });
  }

  // A reload in the same tab: the conversation so far comes back, then new replies.
  transcript.forEach(render);
  showMode(mode);
  scrollToEnd();
  poll();
})();
