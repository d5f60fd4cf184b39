// Long tables of the book (more rows than mscfm.report.SEARCHABLE_ROWS; mscfm.sphinx_ext marks
// them with the class mscfm-searchable) get a search box and sortable columns. The code is
// DataTables from the offline bundle of the itables package, which mscfm.sphinx_ext copies next
// to this file: nothing is loaded from another site, and pages without such a table load nothing.
const tables = document.querySelectorAll("table.mscfm-searchable");
if (tables.length > 0) {
  const here = import.meta.url;
  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = new URL("itables/dt_bundle.css", here).href;
  document.head.appendChild(style);
  const { ITable, set_or_remove_dark_class } = await import(
    new URL("itables/dt_bundle.js", here).href);
  set_or_remove_dark_class(); // follows the theme's light and dark mode
  for (const table of tables) {
    new ITable(table, {
      paging: false, // every row stays on the page (and in the browser's find)
      order: [], // rows keep the order the book gives them until a header is clicked
      autoWidth: false,
      language: { search: "Search this table:" },
    });
  }
  document.documentElement.dataset.mscfmTables = String(tables.length);
}
