/* The photo upload (portal/templates/photos/page.html): one request per file, so that each file
   has its own progress bar (htmx's progress event is per request), drag and drop onto the drop
   zone, and each file's answer (the server's result fragment) in the list of results. Without
   this script the form is a plain multipart POST of every file and the page comes back whole. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-photo-upload]");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = form.querySelector("input[type=file][name=photos]");
  var confirmBox = form.querySelector("input[name=confirm_no_text]");
  var confirmError = document.getElementById("confirm_no_text-error");
  var queue = document.getElementById("upload-queue");
  var results = document.getElementById("upload-results");
  var zone = form.querySelector("[data-drop-zone]");
  var maxBytes = parseInt(form.dataset.maxBytes || "0", 10);
  var busy = false;

  var mb = function (bytes) { return (bytes / 1048576).toFixed(1) + " MB"; };

  var el = function (tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // What was chosen (by the picker or a drop), before it is sent.
  var showQueue = function () {
    queue.textContent = "";
    var files = input.files || [];
    for (var i = 0; i < files.length; i++) {
      queue.appendChild(el("li", "queued", files[i].name + " (" + mb(files[i].size) + ")"));
    }
    queue.hidden = files.length === 0;
  };
  input.addEventListener("change", showQueue);

  if (zone) {
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (busy || !e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      showQueue();
    });
  }

  var setConfirmError = function (show) {
    if (!confirmError) return;
    confirmError.hidden = !show;
    confirmError.closest(".field").classList.toggle("has-error", show);
    if (show) confirmBox.setAttribute("aria-invalid", "true"); else confirmBox.removeAttribute("aria-invalid");
  };
  if (confirmBox) confirmBox.addEventListener("change", function () { if (confirmBox.checked) setConfirmError(false); });

  // One pending item in the results: the file's name, a progress bar and what is happening.
  var pendingItem = function (file, before) {
    var li = el("li", "upload-result pending");
    var text = el("div", "result-text");
    text.appendChild(el("strong", "file-name", file.name));
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var status = el("p", "status", form.dataset.waiting);
    text.appendChild(bar);
    text.appendChild(status);
    li.appendChild(text);
    results.insertBefore(li, before);
    return { li: li, bar: bar, status: status };
  };

  // The server's answer for one file replaces its pending item; an answer without the file's
  // name (the size limit, an expired form) gets it.
  var settle = function (item, file, html, fallback) {
    var holder = document.createElement("template");
    holder.innerHTML = html || "";
    var answers = Array.prototype.filter.call(holder.content.children, function (n) { return n.tagName === "LI"; });
    if (!answers.length) {
      var li = el("li", "upload-result refused");
      li.setAttribute("role", "alert");
      li.appendChild(el("p", "status", fallback));
      answers = [li];
    }
    answers.forEach(function (li) {
      if (!li.querySelector(".file-name")) {
        var text = li.querySelector(".result-text") || li;
        text.insertBefore(el("strong", "file-name", file.name), text.firstChild);
      }
      results.insertBefore(li, item.li);
      if (window.htmx) window.htmx.process(li);
    });
    item.li.remove();
  };

  var send = function (file, item, done) {
    if (maxBytes && file.size > maxBytes) {
      settle(item, file, "", form.dataset.tooLarge);
      return done(false);
    }
    var data = new FormData(form);
    data.delete("photos");
    data.append("photos", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("HX-Target", "upload-results");
    item.status.textContent = form.dataset.sending;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      item.bar.value = pct;
      item.status.textContent = form.dataset.sending + " " + pct + " %";
      if (pct >= 100) item.status.textContent = form.dataset.checking;
    });
    xhr.addEventListener("load", function () {
      item.bar.value = 100;
      settle(item, file, xhr.responseText, form.dataset.failed);
      done(xhr.status >= 200 && xhr.status < 300);
    });
    xhr.addEventListener("error", function () { settle(item, file, "", form.dataset.failed); done(false); });
    xhr.addEventListener("abort", function () { settle(item, file, "", form.dataset.failed); done(false); });
    xhr.send(data);
  };

  // After a batch: the checklist and the photos again (their block of the page).
  var refreshArrange = function () {
    var target = document.getElementById("photo-arrange");
    if (target && window.htmx) window.htmx.ajax("GET", form.action, { target: "#photo-arrange", swap: "outerHTML" });
  };

  // In the capture phase: before htmx's own listener sends the form in one request.
  document.addEventListener("submit", function (e) {
    if (e.target !== form) return;
    e.preventDefault();
    e.stopPropagation();
    if (busy) return;
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) {
      input.focus();
      input.click();
      return;
    }
    if (confirmBox && !confirmBox.checked) {
      setConfirmError(true);
      confirmBox.focus();
      return;
    }
    busy = true;
    form.classList.add("uploading");
    queue.hidden = true;  // each file now shows in the results, with its progress
    // Every file's item at once, in the order chosen, above the earlier results.
    var first = results.firstChild;
    var items = files.map(function (file) { return pendingItem(file, first); });
    var i = 0;
    var next = function () {
      if (i >= files.length) {
        busy = false;
        form.classList.remove("uploading");
        input.value = "";
        showQueue();
        refreshArrange();
        return;
      }
      var k = i++;
      send(files[k], items[k], next);
    };
    next();
  }, true);

  // htmx alone (a browser where this script started late): refresh after its one request.
  form.addEventListener("htmx:afterRequest", function (e) {
    if (e.target === form) refreshArrange();
  });
})();
