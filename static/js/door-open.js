// The steward pass page: send the PIN to the door API, then go to the scan page.
// Also, on the "not signed in" page, offer the pass link this tab opened before.
(function () {
  "use strict";

  var LINK_KEY = "gathering.door.link"; // sessionStorage: this tab only, gone when it closes

  var reopen = document.getElementById("door-reopen");
  if (reopen) {
    var path = null;
    try { path = window.sessionStorage.getItem(LINK_KEY); } catch (e) { path = null; }
    if (path && /^\/door\/[A-Za-z0-9_-]+$/.test(path)) {
      reopen.href = path;
      reopen.hidden = false;
    }
  }

  var form = document.getElementById("door-open-form");
  if (!form) return;
  // The page's words, in its language (gathering/door/page_words.py), as JSON in data-words.
  var WORDS = {};
  try { WORDS = JSON.parse(form.dataset.words || "{}") || {}; } catch (e) { WORDS = {}; }
  function say(key, values) {
    return String(WORDS[key] || key).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  var pin = document.getElementById("pin");
  var error = document.getElementById("pin-error");
  var field = document.getElementById("pin-field");
  var submit = document.getElementById("door-open-submit");
  var csrf = form.querySelector("input[name='csrftoken']").value;
  var stale = document.getElementById("door-open-stale");
  var reload = document.getElementById("door-open-reload");
  reload.addEventListener("click", function () {
    window.location.reload();
  });

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
    field.classList.add("field-error");
    pin.setAttribute("aria-invalid", "true");
    pin.setAttribute("aria-describedby", "pin-hint pin-error");
    pin.focus();
    pin.select();
  }

  function clearError() {
    error.hidden = true;
    error.textContent = "";
    field.classList.remove("field-error");
    pin.removeAttribute("aria-invalid");
    pin.setAttribute("aria-describedby", "pin-hint");
  }

  function ready() {
    submit.disabled = false;
    submit.textContent = say("open_for_scanning");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!pin.value.trim()) {
      showError(say("enter_pin"));
      return;
    }
    clearError();
    stale.hidden = true;
    submit.disabled = true;
    submit.textContent = say("opening");
    fetch(form.dataset.openUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrftoken": csrf },
      body: JSON.stringify({ token: form.dataset.token, pin: pin.value.trim() })
    }).then(function (response) {
      // Only the door API's own JSON answers count: asgi-csrf refuses a stale token with an HTML
      // page, and a wifi login page can answer 200 in its place.
      var type = (response.headers.get("content-type") || "").toLowerCase();
      var parsed = type.indexOf("application/json") === 0
        ? response.json().catch(function () { return null; })
        : Promise.resolve(null);
      return parsed.then(function (data) {
        var isJson = data !== null && typeof data === "object" && !Array.isArray(data);
        if (response.ok && isJson && data.pass) {
          try { window.sessionStorage.setItem(LINK_KEY, window.location.pathname); } catch (e) { /* private mode */ }
          window.location.assign(form.dataset.scanUrl);
          return;
        }
        ready();
        if (response.status === 403 && !isJson) {
          // The page's CSRF token is stale (the browser forgot its session cookies): not the PIN.
          stale.hidden = false;
          reload.focus();
          return;
        }
        showError(isJson && data.message ? data.message
          : say("open_failed", { status: response.status }));
      });
    }).catch(function () {
      ready();
      showError(say("no_connection"));
    });
  });
}());
