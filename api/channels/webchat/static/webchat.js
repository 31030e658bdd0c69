/* Web chat for the campaign site. Plain JS, no dependencies, no third-party requests.
 * The browser's id is random and lives in sessionStorage only (gone when the tab closes). */
(function () {
  "use strict";

  var NEUTRAL_URL = "https://www.google.com/search?q=thoi+tiet";
  var ID_KEY = "cp-webchat-id";
  var LAST_KEY = "cp-webchat-last";
  var POLL_WAIT_SECONDS = 20;
  var HOTLINES = /(111|113|115)/;

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message-input");
  var sendButton = document.getElementById("send-button");
  var statusLine = document.getElementById("status");
  var exitButton = document.getElementById("quick-exit");

  var leaving = false;
  var pollController = null;

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    window.crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function storageGet(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* private mode: keep it in memory */ }
  }

  var clientId = storageGet(ID_KEY);
  if (!clientId || !/^[A-Za-z0-9_-]{16,64}$/.test(clientId)) {
    clientId = randomId(16);
    storageSet(ID_KEY, clientId);
  }
  var lastId = parseInt(storageGet(LAST_KEY) || "0", 10) || 0;

  /* ---- quick exit: leave at once, leave nothing on screen ---- */
  function quickExit() {
    leaving = true;
    if (pollController) { pollController.abort(); }
    log.textContent = "";
    input.value = "";
    try { window.sessionStorage.removeItem(ID_KEY); window.sessionStorage.removeItem(LAST_KEY); } catch (e) { /* ignore */ }
    document.title = "Thời tiết";
    try {
      if (window.top && window.top !== window) { window.top.location.replace(NEUTRAL_URL); return; }
    } catch (e) { /* cross-origin frame: leave this frame at least */ }
    window.location.replace(NEUTRAL_URL);
  }
  exitButton.addEventListener("click", quickExit);

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

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  // A message bubble; screen readers hear who speaks (the label is visually hidden).
  function newBubble(kind, speaker) {
    var bubble = document.createElement("div");
    bubble.className = "msg " + kind;
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = speaker + ": ";
    bubble.appendChild(label);
    return bubble;
  }

  function addUserMessage(text) {
    var bubble = newBubble("user", "Bạn");
    bubble.appendChild(document.createTextNode(text));
    log.appendChild(bubble);
    scrollToEnd();
  }

  function addBotMessage(message) {
    var bubble = newBubble("bot", "Trợ lý");
    if (message.text) {
      var p = document.createElement("p");
      p.className = "text";
      appendTextWithHotlines(p, message.text);
      bubble.appendChild(p);
    }
    if (message.image) {
      var img = document.createElement("img");
      img.src = message.image;
      img.alt = "Hình ảnh từ trợ lý";
      bubble.appendChild(img);
    }
    if (message.buttons && message.buttons.length) {
      var group = document.createElement("div");
      group.className = "quick-replies";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Gợi ý trả lời");
      message.buttons.forEach(function (button) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "quick-reply";
        b.textContent = button.title;
        b.addEventListener("click", function () {
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
          send(button.title, button.payload);
        });
        group.appendChild(b);
      });
      bubble.appendChild(group);
    }
    log.appendChild(bubble);
    scrollToEnd();
  }

  function setStatus(text) { statusLine.textContent = text; }

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
    addUserMessage(text);
    var body = { client_id: clientId, text: text, message_id: randomId(12) };
    if (payload) { body.payload = payload.slice(0, 300); }
    sendButton.disabled = true;
    setStatus("Đang gửi…");
    postMessage(body, 1).then(function (response) {
      if (response.status === 202) {
        setStatus("Trợ lý đang trả lời…");
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
            addBotMessage(message);
            lastId = message.id;
          }
        });
        storageSet(LAST_KEY, String(lastId));
        if ((data.messages || []).length) { setStatus(""); }
        poll();
      })
      .catch(function () {
        if (!leaving) { wait(2000).then(poll); }
      });
  }

  poll();
})();
