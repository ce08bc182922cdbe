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

  // What opened the editor (a night, the nights of an own booking, a bar, the bulk button): its
  // cells are marked while the editor is open, and focus goes back to it when the editor closes.
  // A saved night's cell is a new element (hx-swap-oob), so it is found again by its selector.
  var origin = null;
  var cellSelector = function (td) {
    if (td.id) return "#" + td.id;
    if (td.dataset.unit && td.dataset.night) return "td[data-unit='" + td.dataset.unit + "'][data-night='" + td.dataset.night + "']";
    return null;
  };
  var setOrigin = function (el, range) {
    var td = el.closest("table.cal td");
    var target = td || el;
    origin = { el: target, sel: td ? cellSelector(td) : (el.id ? "#" + el.id : null), range: range || (td ? [td] : []) };
  };
  var originEl = function () {
    if (!origin) return null;
    if (origin.el && origin.el.isConnected) return origin.el;
    return origin.sel ? document.querySelector(origin.sel) : null;
  };
  var unmark = function () {
    document.querySelectorAll("table.cal td.editing").forEach(function (td) { td.classList.remove("editing"); });
  };
  var editorOpen = function () { var ed = editor(); return !!(ed && ed.querySelector(".panel")); };
  var afterEditorClosed = function () {
    unmark();
    var back = originEl();
    origin = null;
    var active = document.activeElement;
    if (back && (!active || active === body || (editor() && editor().contains(active)))) focusCell(back);
  };
  var closeEditor = function () {
    var ed = editor();
    if (ed && ed.classList.contains("floating")) {
      var had = editorOpen();
      ed.innerHTML = "";
      if (had) afterEditorClosed();
      return true;
    }
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
    var range = Array.prototype.filter.call(link.closest("tr").querySelectorAll("td[data-night]"), function (td) {
      return td.dataset.night >= arrival && td.dataset.night <= lastNight;
    });
    setOrigin(link, range);
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

  // -- The keyboard in the plan: one tab stop (a roving tabindex), arrow keys move between
  // nights and rows, Home/End to the window's first/last night; Enter is the link's own click.
  var table = function () { return document.querySelector("table.cal[data-keys]"); };
  var focusTarget = function (td) {
    var a = td.querySelector("a");
    if (a) return a;
    if (!td.hasAttribute("tabindex")) td.tabIndex = -1;
    return td;
  };
  var rows = function (t) {
    return Array.prototype.filter.call(t.tBodies.length ? t.querySelectorAll("tbody tr") : [], function (tr) {
      return !tr.classList.contains("collapsed");
    });
  };
  var nightCells = function (tr) {
    return Array.prototype.filter.call(tr.cells, function (c) { return c.tagName === "TD"; });
  };
  var colOf = function (td) {
    var col = 0, cells = nightCells(td.parentElement);
    for (var i = 0; i < cells.length && cells[i] !== td; i++) col += cells[i].colSpan || 1;
    return col;
  };
  var cellAt = function (tr, col) {
    var c = 0, cells = nightCells(tr);
    for (var i = 0; i < cells.length; i++) {
      c += cells[i].colSpan || 1;
      if (col < c) return cells[i];
    }
    return cells[cells.length - 1] || null;
  };
  var active = null;  // the focus target that holds tabindex=0
  var wantCol = null; // the column up/down keep to across a multi-night bar
  var setActive = function (el) {
    if (active && active !== el && active.isConnected) active.tabIndex = -1;
    active = el;
    el.tabIndex = 0;
  };
  var focusCell = function (td) {
    var el = focusTarget(td);
    setActive(el);
    el.focus();
    reveal(td);
  };
  var initGrid = function () {
    var t = table();
    if (!t) return;
    t.querySelectorAll("a, td[tabindex]").forEach(function (el) { el.tabIndex = -1; });
    var first = rows(t)[0];
    if (!first) return;
    var today = t.querySelector("thead th.today");
    var col = today ? Array.prototype.indexOf.call(today.parentElement.cells, today) - 1 : 0;
    setActive(focusTarget(cellAt(first, col)));
  };
  var activeCell = function () {
    if (!active || !active.isConnected) initGrid();
    return active;
  };

  // Scroll a cell into sight: inside the plan's scroller past the sticky names, and above a
  // bottom sheet (the page has room below the plan while the editor is open).
  var reveal = function (td) {
    var scroller = td.closest(".plan-scroll");
    if (scroller) {
      var head = scroller.querySelector("th.corner");
      var left = scroller.getBoundingClientRect().left + (head ? head.offsetWidth : 0);
      var right = scroller.getBoundingClientRect().right;
      var r = td.getBoundingClientRect();
      if (r.width <= right - left) {
        if (r.left < left) scroller.scrollLeft -= left - r.left + 2;
        else if (r.right > right) scroller.scrollLeft += r.right - right + 2;
      }
    }
    var box = td.getBoundingClientRect();
    var ed = editor();
    var sheet = ed && editorOpen() && ed.getBoundingClientRect();
    var limit = sheet && sheet.left <= box.left && sheet.right >= box.right && sheet.top > 0 ? sheet.top : window.innerHeight;
    if (box.bottom > limit - 8) window.scrollBy(0, box.bottom - limit + 8);
    else if (box.top < 0) window.scrollBy(0, box.top - 8);
  };

  document.addEventListener("keydown", function (e) {
    var t = table();
    var td = t && e.target.closest && e.target.closest("table.cal td");
    if (!td || !t.contains(td) || e.altKey || e.ctrlKey || e.metaKey) return;
    var tr = td.parentElement, all = rows(t), ri = all.indexOf(tr), col = colOf(td), span = td.colSpan || 1;
    var last = nightCells(tr).reduce(function (n, c) { return n + (c.colSpan || 1); }, 0) - 1;
    var keep = wantCol !== null && wantCol >= col && wantCol < col + span ? wantCol : col;
    var to = null;
    if (e.key === "ArrowLeft" && col > 0) { to = cellAt(tr, col - 1); wantCol = col - 1; }
    else if (e.key === "ArrowRight" && col + span <= last) { to = cellAt(tr, col + span); wantCol = col + span; }
    else if (e.key === "ArrowUp" && ri > 0) { to = cellAt(all[ri - 1], keep); wantCol = keep; }
    else if (e.key === "ArrowDown" && ri >= 0 && ri < all.length - 1) { to = cellAt(all[ri + 1], keep); wantCol = keep; }
    else if (e.key === "Home") { to = cellAt(tr, 0); wantCol = 0; }
    else if (e.key === "End") { to = cellAt(tr, last); wantCol = last; }
    else if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].indexOf(e.key) < 0) return;
    e.preventDefault();  // also at an edge: the scroller must not scroll away under the focus
    if (to) focusCell(to);
  });
  // A click (or a focus by any other way) moves the tab stop there.
  document.addEventListener("focusin", function (e) {
    var td = e.target.closest && e.target.closest("table.cal[data-keys] td");
    if (td && focusTarget(td) === e.target) { setActive(e.target); wantCol = colOf(td); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (sel) { clearSel(); return; }
    closeEditor();
  });

  // The skip link lands on the grid's tab stop (its href, #plan-grid, without scripts).
  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("[data-skip-to-plan]")) return;
    var el = activeCell();
    if (el) { e.preventDefault(); el.focus(); reveal(el.closest("td") || el); }
  });

  // Show today first (the window starts yesterday; an older window scrolls to its start).
  var scrollToToday = function () {
    var scroller = document.querySelector(".plan-scroll");
    var today = scroller && scroller.querySelector("th.today");
    var head = scroller && scroller.querySelector("th.corner");
    if (!today || !head) return;
    var offset = today.getBoundingClientRect().left - scroller.getBoundingClientRect().left + scroller.scrollLeft;
    scroller.scrollLeft = Math.max(0, offset - head.offsetWidth - today.offsetWidth);  // yesterday in sight too
  };

  // -- The window's number of nights: 7 on a phone, 31 on a desktop. The server reads the
  // cookie (portal/blueprints/calendar/window.py); it is set on every page, the login form
  // too, so a phone's first plan already has 7 nights. A plan whose count came from an older
  // cookie (data-auto-days) is fetched again.
  var narrow = window.matchMedia("(max-width: 600px)");
  var fitWindow = function () {
    var want = narrow.matches ? 7 : 31;
    document.cookie = "plan_days=" + want + "; path=/; max-age=31536000; samesite=lax";
    var plan = document.getElementById("plan");
    if (plan && plan.hasAttribute("data-auto-days") && plan.dataset.days !== String(want)) {
      htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#plan", swap: "outerHTML" });
    }
  };
  if (narrow.addEventListener) narrow.addEventListener("change", fitWindow);

  // The bulk form was loaded for the window then on screen; send the window on screen now, or
  // the refreshed plan jumps back to the first one.
  body.addEventListener("htmx:configRequest", function (e) {
    var plan = document.getElementById("plan");
    if (plan && plan.dataset.query && e.detail.elt.closest && e.detail.elt.closest("#bulk")) {
      e.detail.path = e.detail.path.split("?")[0] + "?" + plan.dataset.query;
    }
  });

  // Remember what opens the editor (not the editor's own forms).
  body.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt, target = e.detail.target;
    if (!target || target.id !== "editor" || !elt || elt === body || !elt.closest) return;
    if (editor() && editor().contains(elt)) return;
    setOrigin(elt);
  });

  var keepFocusId = null;

  // Each message replaces the one before: an error (in the editor or anywhere) takes the place
  // of a success still shown in the flash area.
  body.addEventListener("htmx:beforeSwap", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.xhr && e.detail.xhr.status >= 400 && e.detail.target !== flash) flash.innerHTML = "";
    // A control of the plan that moved the window (prev/next/today) keeps the keyboard focus:
    // its namesake in the new plan gets it back after the swap (see afterSettle).
    var focused = document.activeElement, target = e.detail.target;
    keepFocusId = (target && target.id === "plan" && focused && focused.id && target.contains(focused)) ? focused.id : null;
  });

  body.addEventListener("htmx:afterSettle", function (e) {
    var elt = e.detail.elt;
    // A new plan (another window, a bulk edit) forgets a half-made selection.
    if (document.getElementById("plan") && elt && (elt.id === "plan" || elt.querySelector && elt.querySelector("#plan"))) {
      clearSel();
      var had = active && document.activeElement === active;
      active = null;
      initGrid();
      scrollToToday();
      if (had && active) active.focus();
      var keep = keepFocusId && document.getElementById(keepFocusId);
      keepFocusId = null;
      if (keep) keep.focus();
    }
    if (!elt || elt.id !== "editor") return;
    if (!editorOpen()) { afterEditorClosed(); return; }  // the saved fragment: the editor closed
    unmark();
    var cells = origin ? origin.range.filter(function (td) { return td.isConnected; }) : [];
    cells.forEach(function (td) { td.classList.add("editing"); });
    if (cells.length) { reveal(cells[cells.length - 1]); reveal(cells[0]); }  // the whole range when it fits
    // The first field with an error, or the autofocused one, with its text selected: typing
    // "95" into the price replaces it.
    var field = elt.querySelector("[aria-invalid=true]:not([type=checkbox])") || elt.querySelector("[autofocus]");
    if (field) {
      field.focus();
      if (field.select && /^(text|number|search|tel|email|)$/.test(field.type || "")) field.select();
    }
  });

  initGrid();
  scrollToToday();
  fitWindow();

  // <select data-filters="ID"> (the own-booking form's room category) leaves in the select #ID
  // only the options of the chosen value (data-category) and those without one ("any free
  // unit"). Without scripts every option stays, labelled with its category.
  var filterOptions = function (sel, picked) {
    var target = document.getElementById(sel.dataset.filters);
    if (!target) return;
    if (!target._allOptions) target._allOptions = Array.prototype.slice.call(target.options);
    var value = target.value;
    target.textContent = "";
    target._allOptions.forEach(function (o) {
      if (!o.dataset.category || o.dataset.category === sel.value) target.appendChild(o);
    });
    target.value = value;
    if (target.value !== value) target.selectedIndex = 0;
    if (!picked) return;
    // A smaller room category picked: no more guests than its units take.
    var chosen = sel.options[sel.selectedIndex];
    var guests = sel.form && sel.form.elements.guests;
    var units = sel.form && sel.form.elements.units;
    var most = chosen && parseInt(chosen.dataset.maxGuests || "0", 10) * (parseInt(units && units.value, 10) || 1);
    if (guests && most && parseInt(guests.value || "0", 10) > most) guests.value = most;
  };
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-filters]")) filterOptions(e.target, true);
  });
  htmx.onLoad(function (elt) {
    if (elt.querySelectorAll) elt.querySelectorAll("select[data-filters]").forEach(function (s) { filterOptions(s, false); });
  });
})();

/* Back or forward pressed quickly: htmx restores each history entry from the server, and an
   older answer may arrive last. The plan on screen must be the window the address names. */
(function () {
  "use strict";
  function planMatchesAddress() {
    var plan = document.getElementById("plan");
    var start = new URLSearchParams(window.location.search).get("start");
    if (!plan || !start || plan.dataset.start === start || !window.htmx) return;
    window.htmx.ajax("GET", window.location.pathname + window.location.search, {target: "#plan", swap: "outerHTML"});
  }
  document.addEventListener("htmx:historyRestore", function () { window.setTimeout(planMatchesAddress, 0); });
})();
