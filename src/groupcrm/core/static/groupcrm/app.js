// Keep htmx requests working with Django's CSRF protection and show server messages.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400) {
    window.alert(document.documentElement.lang === "en" ? `Request failed (${status}).` : `请求失败（${status}）。`);
  }
});

// "Select all" boxes: <input type=checkbox data-select-all="name"> toggles every box named "name".
document.addEventListener("change", (event) => {
  const name = event.target.dataset && event.target.dataset.selectAll;
  if (!name) return;
  const form = event.target.closest("form") || document;
  form.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => {
    box.checked = event.target.checked;
  });
});

// Record pickers: a search box fills a hidden id field from the results list (htmx).
document.addEventListener("click", (event) => {
  const choice = event.target.closest("[data-pick-id]");
  if (choice) {
    const target = document.getElementById(choice.dataset.pickTarget);
    const input = document.querySelector(`[data-pick-input="${choice.dataset.pickTarget}"]`);
    if (target) target.value = choice.dataset.pickId;
    if (input) input.value = choice.dataset.pickLabel;
    choice.parentElement.replaceChildren();
    return;
  }
  const clear = event.target.closest("[data-pick-clear]");
  if (clear) {
    const target = document.getElementById(clear.dataset.pickClear);
    const input = document.querySelector(`[data-pick-input="${clear.dataset.pickClear}"]`);
    if (target) target.value = "";
    if (input) input.value = "";
  }
});

// Keep "save this view" in step with the filters after htmx pushed a new URL.
document.addEventListener("htmx:pushedIntoHistory", () => {
  document.querySelectorAll("[data-sync-query]").forEach((field) => {
    field.value = window.location.search.replace(/^\?/, "");
  });
});
