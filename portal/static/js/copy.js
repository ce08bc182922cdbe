/* Copy buttons (the Modules and Calendars pages): <button data-copy="#id"> copies the text of
   the element #id to the clipboard and says "Copied" in its status (aria-live). Where the
   clipboard cannot be used (an http:// address, an old browser, a refusal) the text is selected
   so that Ctrl+C / long-press copies it, and the status says so. No inline script: CSP. */
(function () {
  "use strict";

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function say(button, text) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!status) return;
    status.textContent = "";  // a second click announces again
    window.setTimeout(function () { status.textContent = text; }, 30);
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-copy]") : null;
    if (!button) return;
    e.preventDefault();
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var fallback = function () {
      selectText(source);
      say(button, button.getAttribute("data-selected-text") || "Selected");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, button.getAttribute("data-copied-text") || "Copied");
      }, fallback);
    } else {
      fallback();
    }
  });
})();
