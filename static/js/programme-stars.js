/* Starred sessions without an account (issue 16): stars are kept on this device only
   (localStorage, per gathering), never sent anywhere except as the ids in the address of the
   starred page and calendar feed the visitor chooses to open. Without this script the programme
   works as before; the star buttons and the starred bar simply do not appear. */
(function () {
  "use strict";
  var bar = document.getElementById("starred-bar");
  if (!bar) { return; }
  var key = "gathering:starred:" + bar.getAttribute("data-gathering");

  function load() {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "[]");
      if (!Array.isArray(value)) { return []; }
      return value.filter(function (n) { return Number.isInteger(n) && n > 0; });
    } catch (e) {
      return [];
    }
  }

  function save(ids) {
    try {
      window.localStorage.setItem(key, JSON.stringify(ids));
    } catch (e) {
      /* Storage refused (private browsing, quota): the stars last until the page closes. */
    }
  }

  var starred = load();

  function query() {
    return "?s=" + starred.slice().sort(function (a, b) { return a - b; }).join(",");
  }

  function showBar() {
    if (starred.length === 0) {
      bar.hidden = true;
      return;
    }
    /* A language with more plural forms than one and many (Welsh: two, few, many) gives the
       counts that differ as data-n-2, data-n-3, data-n-6. */
    var words = starred.length === 1 ? bar.getAttribute("data-one")
      : (bar.getAttribute("data-n-" + starred.length) || bar.getAttribute("data-many"))
        .replace("{count}", String(starred.length));
    bar.querySelector(".starred-count").textContent = words;
    var feed = bar.getAttribute("data-feed") + query();
    bar.querySelector(".starred-page").href = bar.getAttribute("data-page") + query();
    bar.querySelector(".starred-ics").href = feed;
    bar.querySelector(".starred-webcal").href = feed.replace(/^https?:/, "webcal:");
    bar.hidden = false;
  }

  function toggle(button, id) {
    var at = starred.indexOf(id);
    if (at === -1) { starred.push(id); } else { starred.splice(at, 1); }
    save(starred);
    button.setAttribute("aria-pressed", at === -1 ? "true" : "false");
    showBar();
  }

  var headings = document.querySelectorAll("li.session h2[id^='session-'], li.session h3[id^='session-']");
  Array.prototype.forEach.call(headings, function (heading) {
    var id = parseInt(heading.id.slice("session-".length), 10);
    if (!(id > 0)) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "star";
    button.textContent = bar.getAttribute("data-star");
    button.setAttribute("aria-label",
      bar.getAttribute("data-star-label").replace("{title}", heading.textContent.trim()));
    button.setAttribute("aria-pressed", starred.indexOf(id) === -1 ? "false" : "true");
    button.addEventListener("click", function () { toggle(button, id); });
    heading.parentNode.insertBefore(button, heading.nextSibling);
    heading.parentNode.classList.add("has-star");
  });

  /* Another tab starred something: follow it. */
  window.addEventListener("storage", function (event) {
    if (event.key !== key) { return; }
    starred = load();
    Array.prototype.forEach.call(document.querySelectorAll("button.star"), function (button) {
      var heading = button.previousElementSibling;
      var id = parseInt(heading.id.slice("session-".length), 10);
      button.setAttribute("aria-pressed", starred.indexOf(id) === -1 ? "false" : "true");
    });
    showBar();
  });

  showBar();
}());
