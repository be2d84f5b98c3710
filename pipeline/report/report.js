// Sort a table by the column whose header was clicked; draw the charts from their specs.
const sortValue = (cell) => cell.dataset.sort ?? cell.textContent;

function sortBy(table, index, descending) {
  const body = table.tBodies[0];
  const rows = [...body.rows];
  const values = rows.map((row) => sortValue(row.cells[index]));
  const numeric = values.every((v) => v === "" || !Number.isNaN(Number(v)));
  const order = rows.map((row, i) => i);
  order.sort((a, b) => {
    const x = values[a];
    const y = values[b];
    if (x === "" || y === "") return (x === "") - (y === "");  // empty cells last
    const c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
    return descending ? -c : c;
  });
  body.append(...order.map((i) => rows[i]));
}

for (const table of document.querySelectorAll("table.sortable")) {
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((th, index) => {
    th.querySelector("button").addEventListener("click", () => {
      const descending = th.getAttribute("aria-sort") === "ascending";
      headers.forEach((other) => other.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      sortBy(table, index, descending);
    });
  });
}

const specs = JSON.parse(document.getElementById("chart-specs").textContent);
const drawing = [...document.querySelectorAll("[data-chart]")].map((element) =>
  window
    .vegaEmbed(element, specs[element.dataset.chart], {
      actions: false,
      renderer: "svg",
      mode: "vega-lite",
    })
    .then(() => element.classList.add("drawn"))
    .catch((error) => {
      element.textContent = `This chart could not be drawn: ${error.message}`;
      element.classList.add("failed");
      console.error(error);
    }),
);
Promise.all(drawing).then(() => {
  document.documentElement.dataset.charts = document.querySelector(".chart.failed")
    ? "failed"
    : "drawn";
});
