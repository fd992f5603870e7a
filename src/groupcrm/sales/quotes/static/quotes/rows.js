// Numbered input rows (quote lines, price list items): "add" clones the row template
// with the next number; choosing a product shows its price and tax rate as placeholders.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-add-row]");
    if (!button) return;
    const body = document.getElementById(button.dataset.addRow);
    const template = document.getElementById(button.dataset.template);
    const next = parseInt(button.dataset.next, 10) || 0;
    const html = template.innerHTML.split("__n__").join(String(next));
    body.insertAdjacentHTML("beforeend", html);
    button.dataset.next = String(next + 1);
  });
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!select.matches || !select.matches("select[name$='-product_id']")) return;
    const option = select.selectedOptions[0];
    const row = select.closest("tr");
    if (!row || !option) return;
    const price = row.querySelector("input[name$='-unit_price']");
    const tax = row.querySelector("input[name$='-tax_rate']");
    if (price && option.dataset.price) price.placeholder = option.dataset.price;
    if (tax && option.dataset.tax) tax.placeholder = option.dataset.tax;
  });
})();
