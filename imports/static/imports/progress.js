// The progress of an import job: polls the run's status view and draws the bar, then reloads the page when the
// job has ended (the page then shows the preview or the outcome). Local, no library.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) return;
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  var warning = document.getElementById("import-worker-warning");
  var url = box.getAttribute("data-status-url");

  function mb(bytes) { return (bytes / 1048576).toFixed(1); }
  function number(n) { return Math.round(n).toLocaleString("en"); }

  function draw(s) {
    box.setAttribute("data-status", s.status);
    var percent = s.total_bytes ? Math.min(100, (100 * s.bytes_done) / s.total_bytes) : 0;
    bar.value = percent;
    box.setAttribute("data-percent", percent.toFixed(1));
    if (percent > 0 && percent < 100) box.setAttribute("data-seen-partial", "1");
    var parts = [];
    if (s.status === "queued") parts.push("Waiting for a worker…");
    else {
      parts.push(number(s.rows_done) + " rows, " + mb(s.bytes_done) + " of " + mb(s.total_bytes) + " MB");
      if (s.rows_per_second) parts.push(number(s.rows_per_second) + " rows/s");
      if (s.seconds_left !== null && s.seconds_left !== undefined && percent < 100) {
        parts.push("about " + number(s.seconds_left) + " s left");
      }
      if (percent >= 100 && !s.ended) parts.push("finishing: merging duplicates, counting, writing the report");
      if (s.cancel_requested) parts.push("cancelling…");
    }
    text.textContent = parts.join(", ");
    if (s.worker_warning) { warning.textContent = s.worker_warning; warning.hidden = false; }
    else warning.hidden = true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (s) {
        draw(s);
        if (s.ended) window.location.reload();
        else window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();
