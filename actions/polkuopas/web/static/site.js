/* The pages' own behaviour, all optional: the demo clients, the live role
 * filter and the print buttons. Every page works without this file. */
(function () {
  "use strict";

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  /* --- the demo clients (/) --------------------------------------------------- */

  var DEMO_KEY = "polkuopas:demo-client";

  function setUpDemo() {
    var list = document.querySelector("[data-demo]");
    var chat = document.getElementById("chat");
    var status = document.getElementById("demo-status");
    if (!list || !chat || !status) return;
    var buttons = Array.prototype.slice.call(list.querySelectorAll("[data-demo-client]"));

    function remembered() {
      try {
        return window.sessionStorage.getItem(DEMO_KEY) || "";
      } catch (e) {
        return "";
      }
    }

    function remember(id) {
      try {
        window.sessionStorage.setItem(DEMO_KEY, id);
      } catch (e) {
        /* the pressed state is only a hint */
      }
    }

    function mark(id) {
      buttons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.getAttribute("data-demo-client") === id));
      });
    }

    function choose(button) {
      var id = button.getAttribute("data-demo-client");
      var name = button.getAttribute("data-demo-name");
      if (!id) {
        window.customElements.whenDefined("polkuopas-chat").then(function () {
          chat.setToken(null);
          remember("");
          mark("");
          status.textContent = list.getAttribute("data-msg-anonymous");
        });
        return;
      }
      fetch("/api/demo-token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client: id }),
      })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (body) {
          return window.customElements.whenDefined("polkuopas-chat").then(function () {
            chat.setToken(body.token);
            remember(id);
            mark(id);
            status.textContent = fill(list.getAttribute("data-msg-client"), { name: name });
          });
        })
        .catch(function () {
          status.textContent = list.getAttribute("data-msg-failed");
        });
    }

    /* Opened with a personal link (#token=... now, or a token kept from one):
     * the chat is identified, so no demo choice is pressed. */
    function openedWithLink() {
      if (/(^#|&)token=/.test(window.location.hash)) return true;
      try {
        return !remembered() && !!window.sessionStorage.getItem("polkuopas:token");
      } catch (e) {
        return false;
      }
    }

    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        choose(button);
      });
    });
    if (openedWithLink()) {
      remember("");
      mark(null);
      status.textContent = list.getAttribute("data-msg-link");
    } else {
      mark(remembered());
    }
  }

  /* --- the role filter (/roolit) ---------------------------------------------- */

  function setUpRoleFilter() {
    var form = document.querySelector("[data-role-filter]");
    if (!form) return;
    var input = form.querySelector("input[type=search]");
    var count = form.querySelector("[role=status]");
    var roles = Array.prototype.slice.call(document.querySelectorAll("article[data-search]"));
    var toc = {};
    Array.prototype.forEach.call(document.querySelectorAll(".toc [data-role-id]"), function (item) {
      toc[item.getAttribute("data-role-id")] = item;
    });
    var timer = null;

    function apply() {
      var query = input.value.trim();
      var words = query.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      roles.forEach(function (role) {
        var text = role.getAttribute("data-search");
        var match = words.every(function (word) {
          return text.indexOf(word) !== -1;
        });
        role.hidden = !match;
        var entry = toc[role.getAttribute("data-role-id")];
        if (entry) entry.hidden = !match;
        if (match) shown += 1;
      });
      var template = !words.length
        ? form.getAttribute("data-msg-all")
        : shown
          ? form.getAttribute("data-msg-some")
          : form.getAttribute("data-msg-none");
      count.textContent = fill(template, { query: query, shown: shown, total: roles.length });
      var url = words.length ? "?q=" + encodeURIComponent(query) : window.location.pathname;
      window.history.replaceState(null, "", url);
    }

    input.addEventListener("input", function () {
      // Wait for a pause in typing, so the count is announced once.
      clearTimeout(timer);
      timer = setTimeout(apply, 300);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      apply();
    });
  }

  /* --- print buttons --------------------------------------------------------- */

  function setUpPrint() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  function start() {
    setUpDemo();
    setUpRoleFilter();
    setUpPrint();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
