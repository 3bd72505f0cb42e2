// erpsync web UI behaviour, no build step: modal dialogs loaded by htmx, the connection dialog's OK rule,
// and the Sync tab's selection toolbar.
(function () {
  "use strict";

  const FOCUSABLE =
    "[autofocus], input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), " +
    "button:not([disabled]), a[href]";
  let opener = null;

  const dialogHost = () => document.getElementById("dialog-host");

  function focusFirst(dialog) {
    const target = dialog.querySelector("[aria-invalid=true]") || dialog.querySelector(FOCUSABLE);
    if (target) target.focus();
  }

  function openDialogs(root) {
    root.querySelectorAll("dialog").forEach((dialog) => {
      if (!dialog.open) dialog.showModal();
      focusFirst(dialog);
    });
  }

  // --- the connection dialog: OK only after a passed test of exactly the current connector and config values; a
  // saved connection's own values count as tested, so a new name, description or visibility needs no new test -------

  function formValues(form) {
    const pairs = [];
    new FormData(form).forEach((value, key) => {
      if (key === "connector_id" || key.startsWith("config.")) pairs.push([key, String(value)]);
    });
    return JSON.stringify(pairs);
  }

  function prepareConnectionForm(form) {
    if (form.hasAttribute("data-config-as-saved") && !form.dataset.testedValues) {
      form.dataset.testedValues = formValues(form);
    }
    updateOk(form);
  }

  function mandatoryFilled(form) {
    return Array.from(form.querySelectorAll("[data-mandatory]")).every((el) => el.disabled || el.value.trim() !== "");
  }

  function updateOk(form) {
    const ok = form.querySelector("[data-ok-button]");
    if (!ok) return;
    const tested = form.dataset.testedValues;
    ok.disabled = !(tested && tested === formValues(form) && mandatoryFilled(form));
  }

  function connectionForm(element) {
    return element && element.closest ? element.closest("[data-connection-form]") : null;
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    const source = event.detail.elt;
    if (source.matches && source.matches("[data-test-button]")) {
      const form = connectionForm(source);
      form.dataset.pendingValues = formValues(form);
      delete form.dataset.testedValues;
      updateOk(form);
    }
    if (event.detail.target === dialogHost()) opener = document.activeElement;
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target === dialogHost()) openDialogs(target);
    target.querySelectorAll("[data-connection-form]").forEach(prepareConnectionForm);
    const form = connectionForm(target);
    if (!form) return;
    const result = target.querySelector("[data-test-passed]");
    if (result && result.dataset.testPassed === "true") form.dataset.testedValues = form.dataset.pendingValues;
    updateOk(form);
  });

  ["input", "change"].forEach((type) =>
    document.addEventListener(type, (event) => {
      const form = connectionForm(event.target);
      if (form) updateOk(form);
    }),
  );

  // --- dialogs: Escape and Cancel close them, focus goes back to what opened them ----------------------------------

  document.addEventListener(
    "close",
    (event) => {
      if (event.target.tagName !== "DIALOG" || !dialogHost().contains(event.target)) return;
      event.target.remove();
      if (opener && document.contains(opener)) opener.focus();
    },
    true,
  );

  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close-dialog]");
    const dialog = closer && closer.closest("dialog");
    if (dialog && dialogHost().contains(dialog)) {
      event.preventDefault();
      dialog.close();
    }
  });

  // --- the Sync tab: buttons act on the selected connection ---------------------------------------------------------

  function selectedConnection() {
    const radio = document.querySelector("input[name=connection_id]:checked");
    return radio ? radio.value : null;
  }

  function updateToolbar() {
    const selected = selectedConnection();
    document.querySelectorAll("[data-needs-selection]").forEach((button) => {
      button.disabled = !selected;
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target.name === "connection_id") updateToolbar();
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-selectable]");
    if (!row || event.target.closest("a, button, input, label")) return;
    const radio = row.querySelector("input[type=radio]");
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.path.includes("{id}")) {
      event.detail.path = event.detail.path.replace("{id}", encodeURIComponent(selectedConnection() || ""));
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    updateToolbar();
    document.querySelectorAll("dialog[open]").forEach(focusFirst);
    document.querySelectorAll("[data-connection-form]").forEach(prepareConnectionForm);
  });
})();

// erpsync configure screens and the ERP tab: navigation buttons, direction buttons, list duplicates, the Active
// checkbox and the advanced search's operators.
(function () {
  "use strict";

  const selected = () => {
    const radio = document.querySelector("input[name=connection_id]:checked");
    return radio ? radio.value : "";
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-navigate]");
    if (button && !button.disabled) {
      window.location.assign(button.dataset.navigate.replace("{id}", encodeURIComponent(selected())));
    }
  });

  // Mappings: a direction needs a CRM field; read-only ERP fields never sync to the ERP.
  function updateDirections(select) {
    const row = select.closest("[data-mapping-row]");
    row.querySelectorAll("[data-direction]").forEach((radio) => {
      radio.disabled = !select.value || radio.hasAttribute("data-read-only");
      if (!select.value) radio.checked = radio.value === "none";
    });
  }

  // List mapping: a CRM item paired twice in one list is marked (the server refuses it too).
  function markDuplicates(fieldset) {
    const selects = Array.from(fieldset.querySelectorAll("[data-list-item]"));
    const counts = {};
    selects.forEach((s) => { if (s.value) counts[s.value] = (counts[s.value] || 0) + 1; });
    selects.forEach((s) => {
      const duplicate = Boolean(s.value) && counts[s.value] > 1;
      s.classList.toggle("duplicate", duplicate);
      if (duplicate) s.setAttribute("aria-invalid", "true");
      else s.removeAttribute("aria-invalid");
    });
  }

  // Advanced search: only the operators of the chosen field's type.
  function filterOperators(criterion) {
    const field = criterion.querySelector("[data-criterion-field]");
    const operator = criterion.querySelector("[data-criterion-operator]");
    const option = field.options[field.selectedIndex];
    const type = option ? option.dataset.type : "";
    let firstShown = null;
    Array.from(operator.options).forEach((o) => {
      const shown = !type || o.dataset.types === type;
      o.hidden = !shown;
      o.disabled = !shown;
      if (shown && !firstShown) firstShown = o;
    });
    if (operator.selectedOptions[0] && operator.selectedOptions[0].disabled && firstShown) firstShown.selected = true;
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-crm-field]")) updateDirections(target);
    if (target.matches("[data-list-item]")) markDuplicates(target.closest("fieldset"));
    if (target.matches("[data-criterion-field]")) filterOperators(target.closest("[data-criterion]"));
  });

  // The Active checkbox: a refused activation leaves the connection as it was, so the box goes back.
  document.addEventListener("htmx:afterRequest", (event) => {
    const source = event.detail.elt;
    if (source.matches && source.matches("[data-active-toggle]") && event.detail.xhr.status >= 400) {
      source.checked = !source.checked;
    }
  });

  // Waiting: the part of the page a request will replace says it is busy (assistive technology announces it; the
  // spinner and the top bar are app.css's, on htmx's own htmx-request class).
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.target) event.detail.target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.target) event.detail.target.removeAttribute("aria-busy");
  });

  function prepare(root) {
    root.querySelectorAll("[data-list-mapping-form] fieldset").forEach(markDuplicates);
    root.querySelectorAll("[data-criterion]").forEach(filterOperators);
  }

  document.addEventListener("DOMContentLoaded", () => prepare(document));
  document.addEventListener("htmx:afterSwap", (event) => prepare(event.detail.target));
})();
