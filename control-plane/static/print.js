// The print view's button (no inline scripts are allowed by the CSP).
document.addEventListener("DOMContentLoaded", function () {
  var b = document.getElementById("print-now");
  if (b) { b.addEventListener("click", function () { window.print(); }); }
});
