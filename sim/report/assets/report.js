// memsim report: sortable tables, the variant selector and the theme toggle. The page is complete
// without this script (every section open, every variant shown); it only adds the controls.
(function () {
  "use strict";
  var root = document.documentElement;

  // Theme: the stored choice, else the system's; the button switches between light and dark.
  var themeButton = document.getElementById("theme-toggle");
  function stored() {
    try { return window.localStorage.getItem("memsim-theme"); } catch (e) { return null; }
  }
  function setTheme(theme, remember) {
    root.setAttribute("data-theme", theme);
    themeButton.textContent = theme === "dark" ? "Light theme" : "Dark theme";
    if (remember) {
      try { window.localStorage.setItem("memsim-theme", theme); } catch (e) { /* file:// may refuse */ }
    }
  }
  var prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  setTheme(stored() || (prefersDark ? "dark" : "light"), false);
  themeButton.addEventListener("click", function () {
    setTheme(root.getAttribute("data-theme") === "dark" ? "light" : "dark", true);
  });

  // Variant selector: "all" overlays every variant; a variant hides the others' blocks and lines.
  // (A page of one run, a guest's, has no selector.)
  var select = document.getElementById("variant-select");
  if (select) {
    select.addEventListener("change", function () {
      var chosen = select.value;
      document.querySelectorAll("[data-variant]").forEach(function (el) {
        el.classList.toggle("off", chosen !== "all" && el.getAttribute("data-variant") !== chosen);
      });
    });
  }

  // Sortable tables: a click on a heading sorts by that column (numbers by their exact value).
  function key(cell) {
    if (!cell) { return { num: false, text: "" }; }
    var sort = cell.getAttribute("data-sort");
    return sort === null ? { num: false, text: cell.textContent.trim() } : { num: true, value: parseFloat(sort) };
  }
  function compare(a, b) {
    if (a.num && b.num) { return a.value - b.value; }
    if (a.num !== b.num) { return a.num ? -1 : 1; }
    return a.text.localeCompare(b.text, undefined, { numeric: true });
  }
  function sortBy(table, th, col) {
    var numeric = th.classList.contains("num");
    var current = th.getAttribute("aria-sort");
    var dir = current ? (current === "ascending" ? -1 : 1) : (numeric ? -1 : 1);
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, i) { return { row: row, i: i, k: key(row.cells[col]) }; });
    rows.sort(function (a, b) { return dir * compare(a.k, b.k) || a.i - b.i; });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
      });
    });
  });

  document.querySelector(".controls").hidden = false;
})();
