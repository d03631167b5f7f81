// The page's buttons are ordinary POST forms (they work without this file, answering JSON);
// with it, a click posts in the background, says what happened in the status line and
// refreshes the live parts of the page. Same-origin fetch: the browser adds Origin and the
// credentials itself.
"use strict";
function describe(data) {
  if (data.detail) return String(data.detail);
  if (data.task_id) return `queued (task ${data.task_id})`;
  if ("paused" in data) {
    const what = `${data.kind} ${data.name}`;
    const verb = data.paused ? "paused" : "resumed";
    const more = data.reconciling && data.reconciling.length ? `; reconciling ${data.reconciling.join(", ")}` : "";
    return data.changed ? `${what} ${verb}${more}` : `${what} was already ${verb}`;
  }
  if ("queued" in data) return data.queued ? `retry of ${data.id} queued` : `not queued: ${data.reason}`;
  if (data.checks) return data.checks.map(c => `${c.ok ? "ok" : "FAIL"} ${c.check}: ${c.detail}`).join(" · ");
  return JSON.stringify(data);
}
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.method.toLowerCase() !== "post") return;
  event.preventDefault();
  const said = document.getElementById("said");
  said.textContent = "working…";
  try {
    const response = await fetch(form.action, {method: "POST", headers: {"Accept": "application/json"}});
    said.textContent = describe(await response.json());
  } catch (error) {
    said.textContent = `failed: ${error}`;
  }
  if (window.htmx) document.querySelectorAll("[hx-get]").forEach(el => htmx.trigger(el, "refresh"));
  if (form.closest("[data-reload]")) window.location.reload();
});
