// Conveniences only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A print button where printing is possible.
  document.querySelectorAll("button.print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Shorter links to share: fields left empty stay out of the query.
  document.querySelectorAll("form.lookup, form.filters").forEach(function (form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value === "") { field.disabled = true; }
      });
    });
  });
  // On the answer page, flipping "urgent" asks again at once.
  var urgent = document.querySelector("details.again #urgent");
  if (urgent) {
    urgent.addEventListener("change", function () { urgent.form.requestSubmit(); });
  }
});
