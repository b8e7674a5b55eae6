/* The chat widget: <polkuopas-chat>, a custom element with its own shadow DOM.
 *
 * Talks to the Rasa REST channel (POST {server}/webhooks/rest/webhook) and to the
 * Polkuopas web app ({api}/api/...: identity check, feedback, path pictures).
 * The client's personal token comes from the personal link (<page>#token=...),
 * is removed from the address bar at once, kept only in sessionStorage and sent
 * as "Authorization: Bearer". Every text from the bot is shown with textContent.
 */

var SCRIPT = document.currentScript;
var SCRIPT_SRC = SCRIPT && SCRIPT.src ? SCRIPT.src : "";
var ASSET_BASE = SCRIPT_SRC ? SCRIPT_SRC.replace(/[^/?#]*([?#].*)?$/, "") : "";
var TOKEN_RE = /^[A-Za-z0-9_-]{16,256}$/;
var TOPIC_RE = /^[a-z][a-z0-9_]{0,63}$/;
var PATH_ID_RE = /^[a-z][a-z0-9-]{0,99}$/;
var TOKEN_KEY = "polkuopas:token";
var STATE_KEY = "polkuopas:conversation";
var MAX_ITEMS = 200;
var MAX_MESSAGE = 2000;
var COMMENT_MAX = 1000;
var REQUEST_TIMEOUT_MS = 30000;
var PROBE_EVERY_MS = 5000;
var PROBE_LIMIT = 120;
// Answers that need no "was this helpful?": greetings and small talk.
var NO_FEEDBACK_TOPICS = /^(greet|goodbye|thank|bot_challenge|identity_)/;
var widgetCount = 0;

/* sessionStorage, or memory when the browser refuses it (private modes). */
var memoryStore = {};
var session = {
  get: function (key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (e) {
      return Object.prototype.hasOwnProperty.call(memoryStore, key) ? memoryStore[key] : null;
    }
  },
  set: function (key, value) {
    try {
      window.sessionStorage.setItem(key, value);
    } catch (e) {
      memoryStore[key] = value;
    }
  },
  remove: function (key) {
    try {
      window.sessionStorage.removeItem(key);
    } catch (e) {
      /* nothing stored */
    }
    delete memoryStore[key];
  },
};

/* Take the token from "#token=..." and clean the address bar, so the token is
 * not left in the history, a bookmark or a screenshot. */
function takeTokenFromUrl() {
  var hash = window.location.hash.replace(/^#/, "");
  if (!/(^|&)token=/.test(hash)) return null;
  var params = new URLSearchParams(hash);
  var token = params.get("token") || "";
  params.delete("token");
  var rest = params.toString();
  try {
    window.history.replaceState(
      window.history.state,
      "",
      window.location.pathname + window.location.search + (rest ? "#" + rest : "")
    );
  } catch (e) {
    window.location.hash = rest;
  }
  return TOKEN_RE.test(token) ? token : null;
}

var tokenFromUrl = takeTokenFromUrl();
if (tokenFromUrl) session.set(TOKEN_KEY, tokenFromUrl);

function newSender() {
  var bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return (
    "w-" +
    Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("")
  );
}

function loadState() {
  try {
    var state = JSON.parse(session.get(STATE_KEY) || "null");
    if (state && typeof state.sender === "string" && Array.isArray(state.items)) {
      return state;
    }
  } catch (e) {
    /* a broken entry starts a new conversation */
  }
  return { sender: newSender(), items: [], token: null };
}

/* The widget's own texts follow its `lang` (or the script's data-lang), else
 * the page's <html lang>; Finnish when neither names a language it has. */
function widgetLanguage(element) {
  var wanted = [element.getAttribute("lang"), document.documentElement.getAttribute("lang")];
  for (var i = 0; i < wanted.length; i++) {
    var code = (wanted[i] || "").toLowerCase().split("-")[0];
    if (code && STRINGS[code]) return code;
  }
  return "fi";
}

/* "2026-12-02 09.15": a time stamp for the saved conversation. */
function stamp(date) {
  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }
  return date.getFullYear() + "-" + two(date.getMonth() + 1) + "-" + two(date.getDate()) + " " + two(date.getHours()) + "." + two(date.getMinutes());
}

function trimUrl(url) {
  return String(url || "").replace(/\/+$/, "");
}

function isButton(b) {
  return b && typeof b.title === "string" && typeof b.payload === "string";
}

/* Rasa's channel refused a message sent too fast (429): its own polite text
   (plain text, shown with textContent like every message), else the generic one. */
function tooFast(response) {
  return response
    .json()
    .catch(function () {
      return null;
    })
    .then(function (body) {
      var error = new Error("status 429");
      error.server = true;
      var first = Array.isArray(body) && body[0] && typeof body[0] === "object" ? body[0].text : null;
      if (typeof first === "string" && first) error.serverText = first.slice(0, 500);
      throw error;
    });
}

function fetchWithTimeout(url, init) {
  var controller = window.AbortController ? new AbortController() : null;
  var timer = null;
  if (controller) {
    init.signal = controller.signal;
    timer = setTimeout(function () {
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
  }
  return fetch(url, init).then(
    function (response) {
      clearTimeout(timer);
      return response;
    },
    function (error) {
      clearTimeout(timer);
      throw error;
    }
  );
}

class PolkuopasChat extends HTMLElement {
  connectedCallback() {
    if (this._built) return;
    this._built = true;
    widgetCount += 1;
    this._uid = "pk" + widgetCount + "-";
    this._pictures = 0;
    this.t = STRINGS[widgetLanguage(this)] || STRINGS.fi;
    this.server = trimUrl(this.getAttribute("server"));
    this.api = trimUrl(this.getAttribute("api") || (SCRIPT_SRC ? new URL(SCRIPT_SRC).origin : window.location.origin));
    this.floating = (this.getAttribute("display") || "floating") !== "inline";
    this.pathId = PATH_ID_RE.test(this.getAttribute("path") || "") ? this.getAttribute("path") : null;
    this.state = loadState();
    this.busy = false;
    this.queued = [];
    this.generation = 0;
    this.probes = 0;
    this.build();
    var token = session.get(TOKEN_KEY);
    if (this.state.token !== (token || null)) {
      // A new personal link (or none any more): a new conversation.
      this.state = { sender: newSender(), items: [], token: token || null };
      this.save();
    }
    this.renderAll();
    this.checkIdentity();
    var open = this.getAttribute("open");
    if (!this.floating || (open !== null && open !== "false")) this.open(false);
    var self = this;
    window.addEventListener("online", function () {
      if (self.offline) self.probe();
    });
  }

  /* --- building ---------------------------------------------------------- */

  build() {
    var t = this.t;
    var root = this.attachShadow({ mode: "open" });
    var css = this.getAttribute("stylesheet") || ASSET_BASE + "polkuopas-widget.css";
    var wrapper = h("div", {
      class: "pk-root " + (this.floating ? "pk-root--floating" : "pk-root--inline"),
      lang: t.lang,
      hidden: true,
    });
    var link = h("link", { rel: "stylesheet", href: css });
    link.addEventListener("load", function () {
      wrapper.hidden = false;
    });
    link.addEventListener("error", function () {
      wrapper.hidden = false;
    });
    root.appendChild(link);
    root.appendChild(wrapper);

    var panelId = this._uid + "panel";
    var titleId = this._uid + "title";
    var identityId = this._uid + "identity";
    this.titleText = this.getAttribute("title") || t.title;
    // The host page's tooltip is not wanted for the element itself.
    this.removeAttribute("title");

    if (this.floating) {
      this.launcher = h("button", {
        type: "button",
        class: "pk-launcher",
        "aria-expanded": "false",
        "aria-controls": panelId,
        text: t.launcher,
      });
      this.launcher.addEventListener("click", this.toggle.bind(this));
      wrapper.appendChild(this.launcher);
    }

    this.identity = h("p", { class: "pk-identity", id: identityId });
    var actions = h("div", { class: "pk-actions" });
    this.startOverButton = h("button", { type: "button", class: "pk-action", text: t.startOver });
    this.startOverButton.addEventListener("click", this.startOver.bind(this));
    this.feedbackButton = h("button", {
      type: "button",
      class: "pk-action",
      "aria-expanded": "false",
      "aria-controls": this._uid + "comment",
      text: t.feedbackOpen,
    });
    this.feedbackButton.addEventListener("click", this.toggleComment.bind(this));
    actions.appendChild(this.startOverButton);
    actions.appendChild(this.feedbackButton);
    if (this.floating) {
      var close = h("button", { type: "button", class: "pk-action pk-close", "aria-label": t.close }, [
        h("span", { "aria-hidden": "true", text: "×" }),
      ]);
      close.addEventListener("click", this.close.bind(this));
      actions.appendChild(close);
    }

    this.log = h("div", {
      class: "pk-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": t.logLabel,
      tabindex: "0",
    });
    this.typing = h("p", { class: "pk-typing", role: "status" });

    var inputId = this._uid + "input";
    var hintId = this._uid + "hint";
    this.input = h("input", {
      id: inputId,
      class: "pk-input",
      type: "text",
      maxlength: String(MAX_MESSAGE),
      autocomplete: "off",
      placeholder: t.inputPlaceholder,
      "aria-describedby": identityId + " " + hintId,
    });
    this.sendButton = h("button", { type: "submit", class: "pk-send", text: t.send });
    this.form = h("form", { class: "pk-form" }, [
      h("label", { for: inputId, class: "pk-vh", text: t.inputLabel }),
      this.input,
      this.sendButton,
    ]);
    this.form.addEventListener("submit", this.onSubmit.bind(this));
    this.hint = h("p", { class: "pk-hint", id: hintId, text: t.privacyHint });

    this.comment = this.buildCommentForm();
    this.disclosure = this.buildDisclosure();
    this.tools = this.buildTools();

    this.panel = h(
      "section",
      { class: "pk-panel", id: panelId, "aria-labelledby": titleId, hidden: this.floating },
      [
        h("header", { class: "pk-header" }, [
          h("div", { class: "pk-heading" }, [
            h("h2", { class: "pk-title", id: titleId, text: this.titleText }),
            this.identity,
          ]),
          actions,
        ]),
        this.disclosure,
        this.log,
        this.typing,
        this.form,
        this.hint,
        this.tools,
        this.comment,
      ]
    );
    this.panel.addEventListener("keydown", this.onKeydown.bind(this));
    wrapper.appendChild(this.panel);
  }

  /* Before the first question: what this is (EU AI Act art. 50), in the
   * widget's own words, always on top of the conversation. */
  buildDisclosure() {
    var t = this.t;
    var links = h("p", { class: "pk-disclosure__links" });
    [
      ["/tietoa", t.aboutLink],
      ["/tietosuoja", t.privacyLink],
      ["/saavutettavuus", t.accessibilityLink],
    ].forEach(function (pair, index) {
      if (index) links.appendChild(document.createTextNode(" · "));
      links.appendChild(h("a", { href: this.api + pair[0], target: "_blank", rel: "noopener", text: pair[1] }));
    }, this);
    return h("div", { class: "pk-disclosure", role: "note", "aria-label": t.disclosureTitle }, [
      h("p", { class: "pk-disclosure__title", text: t.disclosureTitle }),
      h("p", { class: "pk-disclosure__text", text: t.disclosureText }),
      links,
    ]);
  }

  /* Save a copy of the conversation; delete it for good (asks first). */
  buildTools() {
    var t = this.t;
    this.saveButton = h("button", { type: "button", class: "pk-tool", text: t.saveConversation });
    this.saveButton.addEventListener("click", this.saveConversation.bind(this));
    this.deleteButton = h("button", { type: "button", class: "pk-tool", text: t.deleteConversation });
    this.deleteButton.addEventListener("click", this.askDelete.bind(this));
    this.deleteStatus = h("p", { class: "pk-tools__status", role: "status" });
    var yes = h("button", { type: "button", class: "pk-send", text: t.deleteYes });
    yes.addEventListener("click", this.deleteConversation.bind(this));
    var no = h("button", { type: "button", class: "pk-action", text: t.deleteNo });
    no.addEventListener("click", this.cancelDelete.bind(this));
    this.confirmDelete = h("div", { class: "pk-confirm", role: "alertdialog", "aria-label": t.deleteConversation, hidden: true }, [
      h("p", { class: "pk-confirm__text", text: t.deleteQuestion }),
      h("div", { class: "pk-comment__buttons" }, [yes, no]),
    ]);
    this.confirmYes = yes;
    return h("div", { class: "pk-tools" }, [
      h("div", { class: "pk-tools__row" }, [this.saveButton, this.deleteButton]),
      this.confirmDelete,
      this.deleteStatus,
    ]);
  }

  buildCommentForm() {
    var t = this.t;
    var id = this._uid + "comment";
    this.commentField = h("textarea", {
      id: id + "-text",
      class: "pk-comment__text",
      rows: "3",
      maxlength: String(COMMENT_MAX),
      "aria-describedby": id + "-hint",
    });
    this.commentStatus = h("p", { class: "pk-comment__status", role: "status" });
    var cancel = h("button", { type: "button", class: "pk-action", text: t.commentCancel });
    cancel.addEventListener("click", this.closeComment.bind(this, true));
    var form = h("form", { class: "pk-comment", id: id, hidden: true, "aria-labelledby": id + "-title" }, [
      h("h3", { class: "pk-comment__title", id: id + "-title", text: t.commentTitle }),
      h("label", { for: id + "-text", text: t.commentLabel }),
      h("p", { class: "pk-comment__hint", id: id + "-hint", text: t.commentHint }),
      this.commentField,
      this.commentStatus,
      h("div", { class: "pk-comment__buttons" }, [
        h("button", { type: "submit", class: "pk-send", text: t.commentSend }),
        cancel,
      ]),
    ]);
    form.addEventListener("submit", this.onComment.bind(this));
    return form;
  }

  /* --- opening and closing --------------------------------------------------- */

  open(focus) {
    if (this.floating) {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.hidden = true;
    }
    if (focus !== false) this.input.focus();
    if (!this.state.items.length && !this.busy) this.begin();
  }

  close() {
    if (!this.floating) return;
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  onKeydown(event) {
    if (event.key !== "Escape") return;
    if (!this.confirmDelete.hidden) {
      this.cancelDelete();
      event.preventDefault();
    } else if (!this.comment.hidden) {
      this.closeComment(true);
      event.preventDefault();
    } else if (this.floating) {
      this.close();
      event.preventDefault();
    }
  }

  /* The first turn: the bot's greeting, then the demo path when one is set. */
  begin() {
    var self = this;
    this.send("/greet", null, true).then(function () {
      if (self.pathId) self.showPath(self.pathId);
    });
  }

  showPath(pathId) {
    var self = this;
    return fetchWithTimeout(this.api + "/api/polut/" + encodeURIComponent(pathId), {
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (payload) {
        if (payload && payload.type === "polkuopas.path") {
          self.scrollToAnswer(self.add({ kind: "path", payload: payload }, true));
        }
      })
      .catch(function () {
        /* the picture is extra: the conversation works without it */
      });
  }

  /* --- identity ------------------------------------------------------------- */

  token() {
    var token = session.get(TOKEN_KEY);
    return token && TOKEN_RE.test(token) ? token : null;
  }

  authHeaders(headers) {
    var token = this.token();
    if (token) headers.Authorization = "Bearer " + token;
    return headers;
  }

  showIdentity(status) {
    var t = this.t;
    var text = {
      valid: t.identityValid,
      checking: t.identityChecking,
      expired: t.identityExpired,
      revoked: t.identityExpired,
    }[status] || t.identityNone;
    this.identity.textContent = text;
    this.identity.setAttribute("data-state", status);
  }

  checkIdentity() {
    var self = this;
    if (!this.token()) {
      this.showIdentity("none");
      return Promise.resolve();
    }
    this.showIdentity("checking");
    return fetchWithTimeout(this.api + "/api/identity", {
      headers: this.authHeaders({ Accept: "application/json" }),
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && typeof body.identity === "string") self.showIdentity(body.identity);
      })
      .catch(function () {
        /* unknown: keep "you use your own link" */
      });
  }

  /* Use a personal token as if it came from a personal link (the demo page). */
  setToken(token) {
    if (token && !TOKEN_RE.test(token)) throw new Error("not a Polkuopas token");
    if (token) session.set(TOKEN_KEY, token);
    else session.remove(TOKEN_KEY);
    this.checkIdentity();
    this.startOver(true);
  }

  /* --- conversation --------------------------------------------------------- */

  save() {
    this.state.items = this.state.items.slice(-MAX_ITEMS);
    this.state.token = this.token();
    session.set(STATE_KEY, JSON.stringify(this.state));
  }

  startOver(quiet) {
    // Answers still on their way belong to the old conversation.
    this.generation += 1;
    this.setBusy(false);
    this.queued = [];
    this.state = { sender: newSender(), items: [], token: this.token() };
    this.save();
    this.renderAll();
    if (quiet !== true) this.add({ kind: "notice", text: this.t.startedOver });
    this.stopProbing();
    this.begin();
    this.input.focus();
  }

  onSubmit(event) {
    event.preventDefault();
    var text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    if (this.busy) {
      // Typed before the answer came (the greeting, say): shown now, sent
      // as soon as the answer is in.
      this.add({ kind: "user", text: text });
      this.queued.push(text);
      return;
    }
    this.send(text, text);
  }

  sendQueued() {
    if (this.busy || !this.queued.length) return;
    var text = this.queued.shift();
    this.send(text, null);
  }

  /* Send `message` to Rasa; `shown` is the user's bubble (null: none). */
  send(message, shown, quiet) {
    var self = this;
    var t = this.t;
    if (this.busy) return Promise.resolve();
    this.clearChoices();
    if (shown) this.add({ kind: "user", text: shown });
    this.setBusy(true);
    var generation = this.generation;
    return fetchWithTimeout(this.server + "/webhooks/rest/webhook", {
      method: "POST",
      headers: this.authHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ sender: this.state.sender, message: message }),
    })
      .then(function (response) {
        if (response.status === 429) return tooFast(response);
        if (!response.ok) {
          var error = new Error("status " + response.status);
          error.server = true;
          throw error;
        }
        return response.json();
      })
      .then(function (messages) {
        if (generation !== self.generation) return;
        self.setBusy(false);
        if (self.offline) {
          self.offline = false;
          self.stopProbing();
        }
        self.receive(Array.isArray(messages) ? messages : [], quiet === true);
        self.sendQueued();
      })
      .catch(function (error) {
        if (generation !== self.generation) return;
        self.setBusy(false);
        var text = error && error.server ? error.serverText || t.errorServer : navigator.onLine === false ? t.errorOffline : t.errorUnreachable;
        self.add({ kind: "error", text: text, retry: { message: message, shown: null } });
        // What was typed meanwhile waits for the retry: keep it, send nothing.
        self.queued.forEach(function (queuedText) {
          self.input.value = self.input.value ? self.input.value + " " + queuedText : queuedText;
        });
        self.queued = [];
        if (!(error && error.server)) {
          self.offline = true;
          self.startProbing();
        }
      });
  }

  /* Show an answer; `greeting`: no "was this helpful?" under it. */
  receive(messages, greeting) {
    var topic = null;
    var pathId = null;
    var answered = false;
    var first = null;
    var picture = null;
    var self = this;
    function show(item) {
      var node = self.add(item, true);
      first = first || node;
      if (item.kind === "path") picture = picture || node;
    }
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var name = typeof m.polkuopas_message === "string" && TOPIC_RE.test(m.polkuopas_message) ? m.polkuopas_message : null;
      if (name) topic = name;
      if (typeof m.text === "string" && m.text) {
        var buttons = Array.isArray(m.buttons) ? m.buttons.filter(isButton).slice(0, 12) : [];
        show({ kind: "bot", text: m.text, buttons: buttons });
        answered = true;
      }
      var custom = m.custom;
      if (custom && custom.type === "polkuopas.path" && custom.version === 1 && Array.isArray(custom.steps)) {
        show({ kind: "path", payload: custom });
        if (custom.path && PATH_ID_RE.test(custom.path.id || "")) pathId = custom.path.id;
      }
    });
    if (answered && !greeting && !(topic && NO_FEEDBACK_TOPICS.test(topic))) {
      show({ kind: "helpful", topic: topic || "unknown", pathId: pathId, answer: null });
    }
    if (pathId) this.lastPathId = pathId;
    // With a picture, start from the picture: the text before it lists the steps.
    this.scrollToAnswer(picture || first);
  }

  setBusy(busy) {
    this.busy = busy;
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
    this.sendButton.setAttribute("aria-disabled", busy ? "true" : "false");
    this.typing.textContent = "";
    if (busy) {
      this.typing.appendChild(document.createTextNode(this.t.typing));
      var dots = h("span", { class: "pk-dots", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]);
      this.typing.appendChild(dots);
    }
  }

  /* Quick-reply buttons belong to the latest answer only. */
  clearChoices() {
    var changed = false;
    this.state.items.forEach(function (item) {
      if (item.kind === "bot" && item.buttons && item.buttons.length) {
        item.buttons = [];
        changed = true;
      }
      if (item.kind === "error" && item.retry) {
        item.retry = null;
        changed = true;
      }
    });
    if (changed) {
      Array.prototype.forEach.call(this.log.querySelectorAll(".pk-choices, .pk-retry"), function (node) {
        node.parentNode.removeChild(node);
      });
    }
  }

  /* --- reconnecting ------------------------------------------------------------ */

  startProbing() {
    var self = this;
    if (this.probeTimer) return;
    this.probes = 0;
    this.probeTimer = setInterval(function () {
      self.probe();
    }, PROBE_EVERY_MS);
  }

  stopProbing() {
    clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  probe() {
    var self = this;
    this.probes += 1;
    if (this.probes > PROBE_LIMIT) {
      this.stopProbing();
      return;
    }
    fetchWithTimeout(this.server + "/webhooks/rest/", { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.ok && self.offline) {
          self.offline = false;
          self.stopProbing();
          self.add({ kind: "notice", text: self.t.reconnected });
        }
      })
      .catch(function () {
        /* still away */
      });
  }

  /* --- the client's own copy, and deleting ------------------------------------ */

  conversationText() {
    var t = this.t;
    var lines = [this.titleText + " – " + stamp(new Date()), ""];
    this.state.items.forEach(function (item) {
      if (item.kind === "user") lines.push(t.you + " " + item.text);
      else if (item.kind === "bot") lines.push(t.bot + " " + item.text);
      else if (item.kind === "path" && item.payload && item.payload.path) lines.push("[" + item.payload.path.name + "]");
      else if (item.kind === "notice" || item.kind === "error") lines.push(String(item.text || ""));
    });
    return lines.join("\n") + "\n";
  }

  saveConversation() {
    var blob = new Blob([this.conversationText()], { type: "text/plain;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var link = h("a", { href: url, download: this.t.saveFileName + "-" + stamp(new Date()).replace(/[ .]/g, "-") + ".txt" });
    link.hidden = true;
    this.shadowRoot.appendChild(link);
    link.click();
    link.parentNode.removeChild(link);
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 1000);
    this.deleteStatus.textContent = this.t.saved;
  }

  askDelete() {
    this.confirmDelete.hidden = false;
    this.deleteButton.setAttribute("aria-expanded", "true");
    this.deleteStatus.textContent = "";
    this.confirmYes.focus();
  }

  cancelDelete() {
    this.confirmDelete.hidden = true;
    this.deleteButton.setAttribute("aria-expanded", "false");
    this.deleteButton.focus();
  }

  /* The channel deletes the conversation and all its events from Rasa's
   * conversation store; then this browser forgets it too. */
  deleteConversation() {
    var self = this;
    var t = this.t;
    this.confirmYes.disabled = true;
    return fetchWithTimeout(this.server + "/webhooks/rest/conversation/delete", {
      method: "POST",
      headers: this.authHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ sender: this.state.sender }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        self.confirmYes.disabled = false;
        self.confirmDelete.hidden = true;
        self.deleteButton.setAttribute("aria-expanded", "false");
        self.generation += 1;
        self.setBusy(false);
        self.queued = [];
        self.state = { sender: newSender(), items: [], token: self.token() };
        self.save();
        self.renderAll();
        self.add({ kind: "notice", text: t.deleted });
        self.deleteStatus.textContent = t.deleted;
        self.begin();
        self.input.focus();
      })
      .catch(function () {
        self.confirmYes.disabled = false;
        self.deleteStatus.textContent = t.deleteFailed;
      });
  }

  /* The client's own path (texts from the web app), under their picture. */
  showOwnPath(container) {
    return fetchWithTimeout(this.api + "/api/oma-polku", { headers: this.authHeaders({}) })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (own) {
        if (!own || !Array.isArray(own.sections) || !own.sections.length) return;
        var section = h("section", { class: "pk-own" }, [h("h3", { text: own.title })]);
        own.sections.forEach(function (part) {
          section.appendChild(h("h4", { text: part.heading }));
          section.appendChild(h("ul", {}, part.items.map(function (text) {
            return h("li", { text: text });
          })));
        });
        container.appendChild(section);
      })
      .catch(function () {});
  }

  /* --- feedback --------------------------------------------------------------- */

  postFeedback(body) {
    return fetchWithTimeout(this.api + "/api/feedback", {
      method: "POST",
      headers: this.authHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
    });
  }

  answerHelpful(item, node, helpful) {
    var self = this;
    var buttons = node.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) {
      b.disabled = true;
    });
    this.postFeedback({ topic: item.topic, helpful: helpful, path_id: item.pathId || null })
      .then(function () {
        item.answer = helpful ? "yes" : "no";
        self.save();
        node.parentNode.replaceChild(self.renderItem(item), node);
      })
      .catch(function () {
        Array.prototype.forEach.call(buttons, function (b) {
          b.disabled = false;
        });
        var status = node.querySelector(".pk-helpful__status");
        status.textContent = self.t.feedbackFailed;
      });
  }

  toggleComment() {
    if (this.comment.hidden) {
      this.comment.hidden = false;
      this.feedbackButton.setAttribute("aria-expanded", "true");
      this.commentStatus.textContent = "";
      this.commentField.focus();
    } else {
      this.closeComment(true);
    }
  }

  closeComment(focusBack) {
    this.comment.hidden = true;
    this.feedbackButton.setAttribute("aria-expanded", "false");
    if (focusBack) this.feedbackButton.focus();
  }

  onComment(event) {
    event.preventDefault();
    var self = this;
    var text = this.commentField.value.trim();
    if (!text) {
      this.commentStatus.textContent = this.t.commentEmpty;
      this.commentField.focus();
      return;
    }
    this.postFeedback({ topic: "comment", comment: text.slice(0, COMMENT_MAX), path_id: this.lastPathId || null })
      .then(function () {
        self.commentField.value = "";
        self.closeComment(false);
        self.add({ kind: "notice", text: self.t.commentThanks });
        self.input.focus();
      })
      .catch(function () {
        self.commentStatus.textContent = self.t.feedbackFailed;
      });
  }

  /* --- rendering -------------------------------------------------------------- */

  add(item, keepScroll) {
    this.state.items.push(item);
    this.save();
    var node = this.renderItem(item);
    this.log.appendChild(node);
    if (!keepScroll) this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  /* A long answer (the path picture, a role's description) is read from its
   * start; a short one is shown whole at the end of the log. */
  scrollToAnswer(first) {
    var log = this.log;
    if (!first) return;
    var top = first.offsetTop - 8;
    if (log.scrollHeight - top > log.clientHeight) log.scrollTop = top;
    else log.scrollTop = log.scrollHeight;
  }

  renderAll() {
    var self = this;
    this.log.textContent = "";
    this.lastPathId = null;
    this.state.items.forEach(function (item) {
      if (item.kind === "path" && item.payload && item.payload.path) self.lastPathId = item.payload.path.id;
      self.log.appendChild(self.renderItem(item));
    });
    this.log.scrollTop = this.log.scrollHeight;
  }

  renderItem(item) {
    var t = this.t;
    var self = this;
    if (item.kind === "user") {
      return h("div", { class: "pk-msg pk-msg--user" }, [
        h("span", { class: "pk-vh", text: t.you + " " }),
        h("p", { class: "pk-bubble", text: item.text }),
      ]);
    }
    if (item.kind === "bot") {
      var node = h("div", { class: "pk-msg pk-msg--bot" }, [
        h("span", { class: "pk-vh", text: t.bot + " " }),
        h("p", { class: "pk-bubble", text: item.text }),
      ]);
      if (item.buttons && item.buttons.length) {
        var choices = h("div", { class: "pk-choices", role: "group", "aria-label": t.choicesLabel });
        item.buttons.forEach(function (b) {
          var button = h("button", { type: "button", class: "pk-choice", text: b.title });
          button.addEventListener("click", function () {
            self.send(b.payload, b.title);
            self.input.focus();
          });
          choices.appendChild(button);
        });
        node.appendChild(choices);
      }
      return node;
    }
    if (item.kind === "path") {
      this._pictures += 1;
      var payload = item.payload;
      var picture = renderPath(payload, {
        strings: t,
        level: 3,
        idPrefix: this._uid + "p" + this._pictures + "-",
        compact: true,
        pageUrl: payload.path && PATH_ID_RE.test(payload.path.id || "") ? this.api + "/polut/" + payload.path.id : null,
      });
      // The text answer before the picture already says the steps aloud.
      var wrap = h("div", { class: "pk-msg pk-msg--path", "aria-live": "off" }, [picture]);
      if (payload.personal && this.token()) this.showOwnPath(wrap);
      return wrap;
    }
    if (item.kind === "helpful") {
      if (item.answer) {
        return h("p", { class: "pk-helpful pk-helpful--done", text: t.helpfulThanks });
      }
      var group = h("div", { class: "pk-helpful", role: "group", "aria-label": t.helpfulQuestion }, [
        h("span", { class: "pk-helpful__question", "aria-hidden": "true", text: t.helpfulQuestion }),
      ]);
      var yes = h("button", { type: "button", class: "pk-helpful__button", "aria-label": t.helpfulYesLabel, text: t.helpfulYes });
      var no = h("button", { type: "button", class: "pk-helpful__button", "aria-label": t.helpfulNoLabel, text: t.helpfulNo });
      yes.addEventListener("click", function () {
        self.answerHelpful(item, group, true);
      });
      no.addEventListener("click", function () {
        self.answerHelpful(item, group, false);
      });
      group.appendChild(yes);
      group.appendChild(no);
      group.appendChild(h("span", { class: "pk-helpful__status", role: "status" }));
      return group;
    }
    if (item.kind === "error") {
      var error = h("div", { class: "pk-msg pk-msg--error" }, [h("p", { class: "pk-bubble", text: item.text })]);
      if (item.retry) {
        var retry = h("button", { type: "button", class: "pk-choice pk-retry", text: t.retry });
        retry.addEventListener("click", function () {
          var again = item.retry;
          self.clearChoices();
          self.save();
          self.send(again.message, again.shown);
          self.input.focus();
        });
        error.appendChild(retry);
      }
      return error;
    }
    return h("p", { class: "pk-notice", text: String(item.text || "") });
  }
}

function autoStart() {
  if (!SCRIPT || !SCRIPT.hasAttribute("data-server")) return;
  if (document.querySelector("polkuopas-chat[data-auto]")) return;
  var chat = document.createElement("polkuopas-chat");
  ["server", "api", "title", "lang", "open", "display", "path", "stylesheet"].forEach(function (name) {
    var value = SCRIPT.getAttribute("data-" + name);
    if (value !== null) chat.setAttribute(name, value);
  });
  chat.setAttribute("data-auto", "");
  var target = SCRIPT.getAttribute("data-target");
  var place = target ? document.getElementById(target) : null;
  if (place && !chat.hasAttribute("display")) chat.setAttribute("display", "inline");
  (place || document.body).appendChild(chat);
}

if (!window.customElements.get("polkuopas-chat")) {
  window.customElements.define("polkuopas-chat", PolkuopasChat);
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", autoStart);
} else {
  autoStart();
}
window.Polkuopas = { version: VERSION, renderPath: renderPath, strings: STRINGS };
