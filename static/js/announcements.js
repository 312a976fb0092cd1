// A background send's progress: poll the announcement's JSON until every message is prepared,
// then reload once to show each recipient's delivery.
(function () {
  "use strict";
  var box = document.getElementById("announcement-progress");
  if (!box || box.dataset.running !== "true") return;
  var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };

  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        field("label").textContent = data.label;
        field("done").textContent = data.shown.done;
        field("total").textContent = data.shown.total;
        var bar = field("bar");
        if (bar) {
          bar.style.width = data.percent + "%";
          bar.textContent = data.percent + "%";
          bar.parentElement.setAttribute("aria-valuenow", data.percent);
        }
        if (data.running) window.setTimeout(poll, 1500);
        else window.location.reload();
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
