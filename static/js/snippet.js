// The snippet builder (organisers): rebuild both snippets and both previews as soon as the
// choice changes, without a round trip. The snippets are written exactly as the server writes
// them (gathering/reach/snippets.py build_snippets); the form still works without script.
(function () {
  "use strict";

  var form = document.getElementById("snippet-form");
  if (!form) return;
  var source = document.getElementById("snippet-source");
  var scriptCode = document.getElementById("snippet-script");
  var iframeCode = document.getElementById("snippet-iframe");
  var scriptPreview = document.getElementById("snippet-script-preview");
  var iframePreview = document.getElementById("snippet-iframe-preview");
  var base = form.getAttribute("data-base");
  var HEIGHT = 600;

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }

  function target() {
    var value = source.value;
    var kind = value.slice(0, 2);
    var rest = value.slice(2);
    if (kind === "o:") return { organisation: true, slug: rest, track: "" };
    if (kind === "g:") return { organisation: false, slug: rest, track: "" };
    var cut = rest.indexOf(":");
    return { organisation: false, slug: rest.slice(0, cut), track: rest.slice(cut + 1) };
  }

  function theme() {
    var checked = form.querySelector("input[name='theme']:checked");
    return checked ? checked.value : "light";
  }

  function embedPath(t, colours) {
    var query = new URLSearchParams();
    if (t.track) query.set("track", t.track);
    if (colours !== "light") query.set("theme", colours);
    var text = query.toString();
    return "/embed/" + (t.organisation ? "o" : "g") + "/" + t.slug + (text ? "?" + text : "");
  }

  function update() {
    var t = target();
    var option = source.options[source.selectedIndex];
    var title = option ? option.getAttribute("data-title") : "";
    var path = embedPath(t, theme());
    iframeCode.value = '<iframe src="' + escape(base + path) + '" title="' + escape(title) +
      '" width="100%" height="' + HEIGHT + '" loading="lazy"></iframe>';
    var attribute = t.organisation ? "data-organisation" : "data-gathering";
    var track = t.track ? ' data-track="' + escape(t.track) + '"' : "";
    scriptCode.value = '<div class="gathering-embed" ' + attribute + '="' + escape(t.slug) + '"' +
      track + "></div>\n" + '<script src="' + escape(base + "/embed/v1.js") + '" async></' + "script>";
    iframePreview.src = path;
    var box = document.createElement("div");
    box.className = "gathering-embed";
    box.setAttribute(attribute, t.slug);
    if (t.track) box.setAttribute("data-track", t.track);
    scriptPreview.textContent = "";
    scriptPreview.appendChild(box);
    if (window.GatheringEmbed) window.GatheringEmbed.render(box);
    var address = new URL(window.location.href);
    address.search = new URLSearchParams({ source: source.value, theme: theme() }).toString();
    window.history.replaceState(null, "", address.toString());
  }

  if (!scriptCode || !iframeCode) return;
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
})();
