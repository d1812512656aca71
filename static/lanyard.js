// Lanyard: the pages' one script. Every page works without it; where it runs it adds
//  - on the credentials page: the expiry in the browser's time zone with a live countdown,
//    the shells as a tab list (WAI-ARIA tabs, the last choice remembered), copy buttons;
//  - on the role picker: the filter as you type, by the server's rules.
// It brings no words of its own: every sentence it shows is in the page (data-* attributes
// and hidden elements), so that the templates stay the one place for text.
// Served from Lanyard's own origin (CSP script-src 'self'); no inline script or style.
(function () {
  "use strict";

  /** `template` with each `{name}` replaced by `values[name]`. */
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  /** localStorage, or null where it is unavailable (private modes, disabled storage). */
  function storage() {
    try {
      var s = window.localStorage;
      var probe = "lanyard.probe";
      s.setItem(probe, probe);
      s.removeItem(probe);
      return s;
    } catch (e) {
      return null;
    }
  }

  // ---- The credentials page -----------------------------------------------------------

  /** 3725 → "1:02:05", 725 → "12:05". */
  function clock(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return h > 0 ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
  }

  /** The expiry in local time and a countdown from the seconds Lanyard's clock gave. */
  function expiry() {
    var p = document.getElementById("expiry");
    if (!p) return;
    var time = p.querySelector("time");
    var countdown = p.querySelector(".countdown");
    var expired = document.getElementById("expired");
    var left = Number(p.getAttribute("data-seconds-left"));
    if (time) {
      var at = new Date(time.getAttribute("datetime"));
      if (!isNaN(at.getTime())) {
        time.textContent = at.toLocaleString(undefined, {
          year: "numeric", month: "short", day: "numeric",
          hour: "2-digit", minute: "2-digit", timeZoneName: "short"
        });
      }
    }
    if (!countdown || !isFinite(left)) return;
    // Counted by this browser's clock from the moment the page arrived, not against the
    // expiry instant: a browser whose clock is off still counts right.
    var deadline = Date.now() + left * 1000;
    var template = countdown.getAttribute("data-template") || "{left}";
    var timer = null;
    function tick() {
      var remaining = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = fill(template, { left: clock(remaining) });
      if (remaining === 0) {
        if (timer !== null) window.clearInterval(timer);
        document.body.classList.add("credentials-expired");
        if (expired) expired.hidden = false;
        // Nothing left worth copying.
        Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (b) {
          b.hidden = true;
        });
      }
    }
    tick();
    if (left > 0) timer = window.setInterval(tick, 1000);
  }

  /** The shells' sections as a tab list (WAI-ARIA Authoring Practices, "Tabs"). */
  function shellTabs() {
    var list = document.querySelector(".tablist[role=tablist]");
    if (!list) return;
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    var panels = tabs.map(function (tab) {
      return document.getElementById(tab.getAttribute("aria-controls"));
    });
    if (tabs.length === 0 || panels.indexOf(null) !== -1) return;
    var store = storage();
    var key = "lanyard.shell";

    function select(index, focus) {
      tabs.forEach(function (tab, i) {
        var on = i === index;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) tabs[index].focus();
      if (store) store.setItem(key, tabs[index].getAttribute("data-shell"));
    }

    panels.forEach(function (panel, i) {
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tabs[i].id);
      panel.tabIndex = 0;
      // The tab names the panel; its heading would say it twice.
      var heading = panel.querySelector("h3");
      if (heading) heading.hidden = true;
    });
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(i, false); });
      tab.addEventListener("keydown", function (e) {
        var to = null;
        if (e.key === "ArrowRight") to = (i + 1) % tabs.length;
        else if (e.key === "ArrowLeft") to = (i - 1 + tabs.length) % tabs.length;
        else if (e.key === "Home") to = 0;
        else if (e.key === "End") to = tabs.length - 1;
        if (to === null) return;
        e.preventDefault();
        select(to, true);
      });
    });
    var remembered = store ? store.getItem(key) : null;
    var start = tabs.findIndex(function (t) { return t.getAttribute("data-shell") === remembered; });
    list.hidden = false;
    select(start === -1 ? 0 : start, false);
  }

  /** Copy buttons: shown only where the clipboard can be written. */
  function copyButtons() {
    var buttons = document.querySelectorAll("button.copy[data-copy]");
    var status = document.getElementById("copy-status");
    if (buttons.length === 0 || !status) return;
    if (!navigator.clipboard || typeof navigator.clipboard.writeText !== "function") return;
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var label = button.querySelector(".copy-label");
      if (!source || !label) return;
      var words = label.textContent;
      var reset = null;
      function say(text, ms) {
        label.textContent = text;
        // Emptied first, so that the same words twice are announced twice.
        status.textContent = "";
        window.setTimeout(function () { status.textContent = text; }, 50);
        if (reset !== null) window.clearTimeout(reset);
        reset = window.setTimeout(function () { label.textContent = words; }, ms);
      }
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          say(status.getAttribute("data-copied") || "", 2000);
        }, function () {
          // Left to the person: the text is selected, ready for the keyboard's copy.
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          say(status.getAttribute("data-failed") || "", 5000);
        });
      });
      button.hidden = false;
    });
  }

  // ---- The role picker ----------------------------------------------------------------

  /** Filters the rows as the person types: the server's rules (name, description or
   *  configured group contains the text, ignoring case), empty groups hidden, the choice
   *  kept even when hidden, the count announced. A page the server already filtered holds
   *  only its matches: the script narrows those, and a filter that is no narrowing is
   *  left to the server (Enter, or the Filter button), as without the script. */
  function pickerFilter() {
    var box = document.getElementById("q");
    var form = box && box.form;
    if (!form) return;
    var rows = Array.prototype.slice.call(form.querySelectorAll(".role"));
    var fieldsets = Array.prototype.slice.call(form.querySelectorAll("fieldset"));
    var count = document.getElementById("shown-count");
    var noMatch = form.querySelector(".no-match");
    var noMatchText = noMatch && noMatch.querySelector(".no-match-filter");
    var kept = document.getElementById("kept-choice");
    var keptRole = kept && kept.querySelector(".kept-role");
    var note = document.getElementById("lengths-note");
    var submit = form.querySelector(":scope > button[type=submit]:not([name])");
    var serverFilter = box.defaultValue.trim().toLowerCase();
    var text = function (row, css) {
      var el = row.querySelector(css);
      return el ? el.textContent.toLowerCase() : "";
    };
    var facts = rows.map(function (row) {
      return {
        row: row,
        radio: row.querySelector("input[type=radio]"),
        name: text(row, ".role-name"),
        description: text(row, ".role-desc"),
        group: (row.getAttribute("data-group") || "").toLowerCase()
      };
    });
    var last = null;

    function apply() {
      var needle = box.value.trim().toLowerCase().slice(0, 100);
      // The rows the server left out might match: show the page as the server made it.
      if (serverFilter !== "" && needle.indexOf(serverFilter) === -1) needle = serverFilter;
      if (needle === last) return;
      last = needle;
      var shown = 0;
      var hiddenChoice = null;
      facts.forEach(function (f) {
        var match = needle === "" || f.name.indexOf(needle) !== -1 ||
          f.description.indexOf(needle) !== -1 || f.group.indexOf(needle) !== -1;
        f.row.hidden = !match;
        if (match) shown += 1;
        else if (f.radio && f.radio.checked) hiddenChoice = f.radio.value;
      });
      fieldsets.forEach(function (fs) {
        fs.hidden = !fs.querySelector(".role:not([hidden])");
      });
      if (count) {
        count.textContent = fill(count.getAttribute("data-template") || "", {
          shown: shown, total: count.getAttribute("data-total") || rows.length
        });
      }
      var none = shown === 0;
      if (noMatch) noMatch.hidden = !none;
      if (noMatchText) noMatchText.textContent = box.value.trim();
      if (submit) submit.hidden = none;
      if (note) note.hidden = none;
      if (kept && keptRole) {
        kept.hidden = hiddenChoice === null;
        keptRole.textContent = hiddenChoice || "";
      }
    }

    box.addEventListener("input", apply);
    // Choosing a role in view clears the note about a hidden choice.
    form.addEventListener("change", function (e) {
      if (e.target && e.target.name === "role") { last = null; apply(); }
    });
    // "Show all roles" on a page that holds every row: clear the box here.
    var showAll = noMatch && noMatch.querySelector("a");
    if (showAll && serverFilter === "") {
      showAll.addEventListener("click", function (e) {
        e.preventDefault();
        box.value = "";
        apply();
        box.focus();
      });
    }
    // A star reloads the picker: keep the filter typed and the role chosen.
    var star = document.getElementById("star");
    if (star) {
      star.addEventListener("submit", function () {
        var put = function (name, value) {
          var input = star.querySelector("input[name='" + name + "']");
          if (!input) {
            input = document.createElement("input");
            input.type = "hidden";
            input.name = name;
            star.appendChild(input);
          }
          input.value = value;
        };
        put("q", box.value.trim());
        var chosen = form.querySelector("input[name=role]:checked");
        if (chosen) put("selected", chosen.value);
      });
    }
    apply();
  }

  function start() {
    expiry();
    shellTabs();
    copyButtons();
    pickerFilter();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
