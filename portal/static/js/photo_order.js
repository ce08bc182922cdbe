/* Arranging photos (portal/templates/photos/_grid.html): drag a card by its handle to a new
   place (native HTML5 drag and drop; the new order is posted as `order`, the grid comes back),
   the room category shown only for the motive "room", and the keyboard's focus kept on the
   button just used when htmx swaps the grid. The up/down buttons are the way for keyboards
   and phones (touch screens have no HTML5 drag and drop); without this script every form
   still works as a plain POST. Loaded once: the grid may be swapped in again with its tag. */
(function () {
  "use strict";
  if (window.photoOrderLoaded) return;
  window.photoOrderLoaded = true;

  var CARD = "[data-photo-id]";
  var dragged = null;
  var before = null;

  var ids = function (list) {
    return Array.prototype.map.call(list.querySelectorAll(":scope > " + CARD), function (li) { return li.dataset.photoId; });
  };

  // The room category only where the motive is "room" (shown whole without this script).
  var showCategory = function (select) {
    var form = select.form;
    var field = form && form.querySelector("[data-room-only]");
    if (field) field.hidden = select.value !== "room";
  };
  var showCategories = function (root) {
    (root || document).querySelectorAll("select[data-photo-motive]").forEach(showCategory);
  };
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-photo-motive]")) showCategory(e.target);
  });

  // Dragging starts at the handle only, so text in the card's fields can still be selected.
  var arm = function (e) {
    var handle = e.target.closest && e.target.closest("[data-drag-handle]");
    var card = handle && handle.closest(CARD);
    if (card) card.setAttribute("draggable", "true");
  };
  var disarm = function () {
    document.querySelectorAll(CARD + "[draggable]").forEach(function (c) { if (c !== dragged) c.removeAttribute("draggable"); });
  };
  document.addEventListener("pointerdown", arm);
  document.addEventListener("mousedown", arm);
  document.addEventListener("pointerup", disarm);

  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(CARD + "[draggable]");
    if (!card) return;
    dragged = card;
    before = ids(card.parentElement).join(",");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.photoId);
    card.classList.add("dragging");
  });

  document.addEventListener("dragover", function (e) {
    if (!dragged) return;
    var over = e.target.closest && e.target.closest(CARD);
    if (!over || over.parentElement !== dragged.parentElement) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    if (over === dragged) return;
    var list = over.parentElement;
    var cards = Array.prototype.slice.call(list.children);
    // Towards the end: after the card under the pointer; towards the start: before it.
    if (cards.indexOf(dragged) < cards.indexOf(over)) list.insertBefore(dragged, over.nextSibling);
    else list.insertBefore(dragged, over);
  });

  document.addEventListener("drop", function (e) {
    if (dragged) e.preventDefault();
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    var card = dragged;
    dragged = null;
    card.classList.remove("dragging");
    card.removeAttribute("draggable");
    var list = card.parentElement;
    var order = ids(list);
    if (order.join(",") === before) return;
    var grid = card.closest("#photo-grid");
    var status = document.getElementById("photo-grid-status");
    if (status && grid.dataset.moved) status.textContent = grid.dataset.moved;
    focusAfter = "photo" + card.dataset.photoId + "-up";
    window.htmx.ajax("POST", grid.dataset.reorderUrl, {
      source: grid, target: "#photo-grid", swap: "outerHTML settle:0ms", values: { order: order.join(",") }
    });
  });

  // Keep the keyboard where it was: the same button after the grid came back (the other
  // arrow when that one is now disabled at an end), else the grid's message. The grid's swaps
  // settle at once (settle:0ms): htmx moves the focus to the new button during the swap, and a
  // second Enter before the new forms are set up would post them without htmx (a page load).
  var focusAfter = null;
  document.addEventListener("htmx:beforeRequest", function (e) {
    var grid = document.getElementById("photo-grid");
    if (!grid || !grid.contains(e.target)) return;
    // The form's own button (each form of a card has one), whatever has the focus right now.
    var button = e.target.matches("form") ? e.target.querySelector("button[id]") : null;
    var active = document.activeElement;
    if (button) focusAfter = button.id;
    else if (active && active.id && grid.contains(active)) focusAfter = active.id;
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var grid = document.getElementById("photo-grid");
    if (!grid || !(e.target === grid || grid.contains(e.target) || e.target.contains(grid))) return;
    showCategories(grid);
    if (!focusAfter) return;
    var want = focusAfter;
    focusAfter = null;
    var el = grid.querySelector("[aria-invalid=true]");  // a refused change: its first field
    if (!el) {
      el = document.getElementById(want);
      if (el && el.disabled) {
        var other = want.replace(/-(up|down)$/, function (_, d) { return d === "up" ? "-down" : "-up"; });
        el = document.getElementById(other);
      }
    }
    if (!el || el.disabled) el = document.getElementById("photo-grid-status");
    if (el) el.focus();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { showCategories(); });
  else showCategories();
})();
