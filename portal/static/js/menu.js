/* The site menu on a phone: one button folds the header's links away (a compact header leaves
   the screen to the plan). Without this script the links simply stay visible. */
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");

  function setUp() {
    var header = document.getElementById("top");
    var button = header && header.querySelector(".menu-toggle");
    if (!button) return;
    button.hidden = false;
    header.classList.add("has-menu");

    function close(returnFocus) {
      header.classList.remove("menu-open");
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    }
    button.addEventListener("click", function () {
      var open = !header.classList.contains("menu-open");
      header.classList.toggle("menu-open", open);
      button.setAttribute("aria-expanded", String(open));
      if (open) {
        var first = header.querySelector("#site-menu a, #site-menu button, #site-menu select");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && header.classList.contains("menu-open")) close(true);
    });
    document.addEventListener("click", function (e) {
      if (header.classList.contains("menu-open") && !header.contains(e.target)) close(false);
    });
    narrow.addEventListener("change", function () { close(false); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
