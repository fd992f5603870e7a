// Keep htmx requests working with Django's CSRF protection and show server messages.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400) {
    window.alert(document.documentElement.lang === "en" ? `Request failed (${status}).` : `请求失败（${status}）。`);
  }
});
