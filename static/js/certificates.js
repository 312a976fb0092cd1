// Bulk issuing progress: poll the run's JSON and update the page until it finishes.
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box || box.dataset.running !== "true") return;
  var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };

  function render(data) {
    field("done").textContent = data.shown.done;
    field("total").textContent = data.shown.total;
    field("failed").textContent = data.shown.failed;
    var bar = field("bar");
    bar.style.width = data.percent + "%";
    bar.textContent = data.percent + "%";
    bar.parentElement.setAttribute("aria-valuenow", data.percent);
    var list = field("failures");
    if (data.failures.length) {
      field("failures-box").hidden = false;
      list.replaceChildren.apply(list, data.failures.map(function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + ": " + f.reason;
        return li;
      }));
    }
    if (data.worker_gone) {
      window.location.reload();  // the server shows how to take the run over
      return;
    }
    field("label").textContent = data.label;
    if (!data.running) field("finished-links").hidden = false;
  }

  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        render(data);
        if (data.running) window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
