// Attendance pages. No inline scripts: everything is wired from data attributes here.
(function () {
  "use strict";

  // Roster: saving one participant's mark in place when a status is chosen. Each row says
  // "Saving…", then "Saved" (the server's fresh row) or why it was not saved; the choice stays
  // selected, so "Save marks" can still send it.
  var roster = document.getElementById("roster-form");
  if (roster) {
    var live = document.getElementById("roster-live");
    var tokenInput = roster.querySelector("input[name='csrf_token']");
    var msg = roster.dataset;
    var showState = function (row, text, kind) {
      var state = row.querySelector(".mark-state");
      if (!state) return;
      state.textContent = text;
      state.dataset.state = kind;
      state.className = "small mark-state" + (kind === "error" ? " text-danger fw-semibold" : kind === "saved" ? " text-success" : "");
    };
    var nameOf = function (row) {
      var name = row.querySelector(".roster-name");
      return name ? name.textContent.trim() : "";
    };
    var isMark = function (input) {
      return input.matches("input[type='radio'][name^='status-']");
    };
    var saveMark = function (input) {
      var row = input.closest("tr");
      // The form's data-mark-url ends in /0: in its place, the registration the radio marks.
      var markUrl = msg.markUrl.replace(/\/0$/, "/" + input.name.slice("status-".length));
      var label = input.nextElementSibling ? input.nextElementSibling.textContent.trim() : input.value;
      var body = new FormData();
      body.append("status", input.value);
      if (tokenInput) body.append("csrf_token", tokenInput.value);
      showState(row, msg.msgSaving, "saving");
      fetch(markUrl, {
        method: "POST",
        body: body,
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      })
        .then(
          function (response) {
            return response.text().then(function (text) {
              if (!response.ok) throw new Error(msg.msgFailed + ": " + text.trim().slice(0, 300));
              return text;
            });
          },
          function () {
            throw new Error(msg.msgOffline);
          }
        )
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
          if (live) {
            live.className = "small";
            live.textContent = nameOf(fresh) + ": " + label + " – " + msg.msgSaved;
          }
        })
        .catch(function (error) {
          showState(row, error.message, "error");
          if (live) {
            live.className = "small text-danger fw-semibold";
            live.textContent = nameOf(row) + ": " + error.message;
          }
        });
    };
    roster.addEventListener("change", function (event) {
      if (isMark(event.target)) saveMark(event.target);
    });
    // A mark chosen while this script was still loading (a slow line) is saved now, not lost.
    Array.prototype.forEach.call(roster.querySelectorAll("input[type='radio']:checked"), function (input) {
      if (isMark(input) && !input.defaultChecked) saveMark(input);
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
