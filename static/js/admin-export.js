// The admin's export page (templates/admin/import_export/export.html): binds "Select all" to
// django-import-export's own onSelectToggleChange (export_selectable_fields.js, loaded before
// this file), since the Content-Security-Policy blocks the library's inline onchange handler.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("input.select-toggle");
  if (toggle && typeof onSelectToggleChange === "function") {
    toggle.addEventListener("change", onSelectToggleChange);
  }
});
