// Attendance pages. No inline scripts: everything is wired from data attributes here.
(function () {
  "use strict";

  // Roster: saving one participant's mark in place when a status is chosen.
  var roster = document.getElementById("roster-form");
  if (roster) {
    var live = document.getElementById("roster-live");
    var tokenInput = roster.querySelector("input[name='csrf_token']");
    roster.addEventListener("change", function (event) {
      var input = event.target;
      if (!input.matches("input[type='radio'][name^='status-']")) return;
      var row = input.closest("tr[data-mark-url]");
      var body = new FormData();
      body.append("status", input.value);
      if (tokenInput) body.append("csrf_token", tokenInput.value);
      fetch(row.dataset.markUrl, {
        method: "POST",
        body: body,
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.text().then(function (text) {
            if (!response.ok) throw new Error(text);
            return text;
          });
        })
        .then(function (html) {
          var focusedId = document.activeElement && document.activeElement.id;
          var holder = document.createElement("tbody");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("tr");
          row.replaceWith(fresh);
          if (focusedId) {
            var again = document.getElementById(focusedId);
            if (again) again.focus();
          }
          if (live) live.textContent = fresh.querySelector("th").childNodes[0].textContent.trim() + ": " + input.nextElementSibling.textContent.trim();
        })
        .catch(function (error) {
          if (live) live.textContent = error.message || "Not saved. Use the Save marks button.";
        });
    });
  }

  // Check-in screen: refresh the rotating QR code without reloading the page.
  var qr = document.getElementById("checkin-qr");
  if (qr) {
    var seconds = parseInt(qr.dataset.rotation, 10) || 45;
    var base = qr.dataset.src;
    window.setInterval(function () {
      qr.src = base + "?t=" + Date.now();
    }, Math.max(5, Math.floor(seconds / 3)) * 1000);
  }
})();
