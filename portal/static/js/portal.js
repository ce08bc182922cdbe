/* The few lines htmx cannot do: the session countdown, picking nights for an own booking,
   Escape to close the editor, collapsing units, and the behaviour that templates ask for with
   data- attributes (the Content-Security-Policy allows no inline handlers). */
(function () {
  "use strict";
  var body = document.body;

  // R80: show the time left, warn a minute before, and reload when it ran out (the server
  // then sends the login page). Every htmx request restarts the count.
  var total = parseInt(body.dataset.sessionSeconds || "0", 10);
  if (total) {
    var deadline = Date.now() + total * 1000;
    var timer = document.getElementById("session-timer");
    var warning = document.getElementById("session-warning");
    var restart = function () { deadline = Date.now() + total * 1000; warning.hidden = true; tick(); };
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (timer) timer.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left <= 60) warning.hidden = false;
      if (left === 0) { window.location.reload(); }
    };
    body.addEventListener("htmx:afterRequest", restart);
    tick();
    setInterval(tick, 1000);
  }

  // <select data-autosubmit> sends its form as soon as a value is picked (the language).
  document.addEventListener("change", function (e) {
    var el = e.target.closest && e.target.closest("[data-autosubmit]");
    if (el && el.form) el.form.submit();
  });

  // <form data-confirm="question"> asks before it is sent; "Cancel" sends nothing. Listening
  // in the capture phase runs before htmx's own listener on the form, so it also holds for
  // hx-post forms and for forms swapped in later (hx-confirm is htmx's own way for those).
  document.addEventListener("submit", function (e) {
    var form = e.target.closest && e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);

  var editor = function () { return document.getElementById("editor"); };
  var closeEditor = function () {
    var ed = editor();
    if (ed && ed.classList.contains("floating")) { ed.innerHTML = ""; return true; }
    return false;
  };

  // Own booking from the plan: first click = arrival, second click on the same unit = last night.
  var sel = null;
  var hint = function () { return document.getElementById("selection-hint"); };
  var clearSel = function () {
    document.querySelectorAll("td.free.sel").forEach(function (td) { td.classList.remove("sel"); });
    sel = null;
    if (hint()) hint().hidden = true;
  };
  var addDay = function (iso) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  };
  var openBooking = function (unit, arrival, lastNight) {
    var link = document.querySelector("td.free[data-unit='" + unit + "'][data-night='" + arrival + "'] a");
    var url = link.getAttribute("href").split("&")[0] + "&arrival=" + arrival + "&departure=" + addDay(lastNight);
    clearSel();
    htmx.ajax("GET", url, { target: "#editor", swap: "innerHTML" });
  };

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-toggle-units]");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      document.querySelectorAll("tr.unit-row[data-cat='" + toggle.dataset.toggleUnits + "']")
        .forEach(function (tr) { tr.classList.toggle("collapsed", open); });
      return;
    }
    if (e.target.closest("[data-close-editor]") && closeEditor()) { e.preventDefault(); return; }
    if (e.target.closest("[data-select-cancel]")) { clearSel(); return; }
    if (e.target.closest("[data-select-one]") && sel) { openBooking(sel.unit, sel.night, sel.night); return; }
    var a = e.target.closest("td.free a");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    var td = a.parentElement;
    if (sel && sel.unit === td.dataset.unit && td.dataset.night >= sel.night) {
      openBooking(sel.unit, sel.night, td.dataset.night);
      return;
    }
    clearSel();
    sel = { unit: td.dataset.unit, night: td.dataset.night };
    td.classList.add("sel");
    var h = hint();
    if (h) {
      h.querySelector(".text").textContent = h.dataset.text
        .replace("{date}", td.dataset.night.split("-").reverse().join("."))
        .replace("{unit}", td.dataset.unitName);
      h.hidden = false;
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (sel) { clearSel(); return; }
    closeEditor();
  });

  // Show today first: most of the current month lies in the past.
  var scrollToToday = function () {
    var scroller = document.querySelector(".plan-scroll");
    var today = scroller && scroller.querySelector("th.today");
    var head = scroller && scroller.querySelector("th.corner");
    if (today && head) scroller.scrollLeft = Math.max(0, today.offsetLeft - head.offsetWidth - today.offsetWidth);
  };
  scrollToToday();

  // The bulk form lives outside #plan, so its URL still names the month the page was loaded
  // with; send the month on screen, or the refreshed plan jumps back to that first month.
  body.addEventListener("htmx:configRequest", function (e) {
    var plan = document.getElementById("plan");
    if (plan && plan.dataset.month && e.detail.elt.closest && e.detail.elt.closest("#bulk")) {
      e.detail.path = e.detail.path.replace(/([?&]month=)[^&#]*/, "$1" + plan.dataset.month);
    }
  });

  // A new plan (month change, bulk edit) forgets a half-made selection.
  body.addEventListener("htmx:afterSettle", function (e) {
    if (document.getElementById("plan") && e.detail.elt && (e.detail.elt.id === "plan" || e.detail.elt.querySelector && e.detail.elt.querySelector("#plan"))) {
      clearSel();
      scrollToToday();
    }
  });
})();
