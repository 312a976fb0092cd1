// Material form: show the file field or the address field depending on the chosen kind.
// Without JavaScript both stay visible and the server uses the one that matches the kind.
(function () {
  "use strict";
  document.querySelectorAll("form[data-material-form]").forEach(function (form) {
    var file = form.querySelector("input[type='file']");
    var url = form.querySelector("input[name='url']");
    if (!file || !url) return;
    var fileGroup = file.closest(".mb-3");
    var urlGroup = url.closest(".mb-3");
    function sync() {
      var checked = form.querySelector("input[name='kind']:checked");
      var isLink = checked && checked.value === "link";
      fileGroup.hidden = isLink;
      urlGroup.hidden = !isLink;
    }
    form.querySelectorAll("input[name='kind']").forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });
})();
