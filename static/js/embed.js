// The embed script: another site pastes
//   <div class="gathering-embed" data-gathering="SLUG" data-track="TRACK"></div>
//   <script src="https://OUR-SITE/embed/v1.js" async></script>
// (or data-organisation="SLUG") and gets the released sessions rendered into its own page.
//
// It runs as the host page's script, so it is careful: it reads only the public JSON API of the
// site it was loaded from (no credentials, no referrer), sets no cookie and stores nothing,
// writes text with textContent only (never innerHTML) and adds no style of its own: the list
// inherits the host page's fonts and colours. Elements carry gathering-embed__* classes for hosts
// that want to style them.
(function () {
  "use strict";

  // Where this script came from is where the API is (a site builder may load it in a way that
  // leaves currentScript empty: then look for our tag).
  var script = document.currentScript ||
    document.querySelector("script[src$='/embed/v1.js']");
  var API = script && script.src ? new URL(script.src).origin + "/api" : null;
  var SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = "gathering-embed__" + className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function link(href, text) {
    var a = element("a", "link", text);
    // Only our own pages: a URL from the API that is not ours is not followed.
    if (typeof href === "string" && href.indexOf(new URL(API).origin + "/") === 0) a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  // Times come as RFC 3339 in the gathering's zone ("2019-09-23T18:00:00+01:00"): the wall
  // clock is read from the string itself, so the host visitor's own zone changes nothing.
  function clock(stamp) { return stamp.slice(11, 16); }

  // The words in each of the site's languages, day and month names included, written in by the
  // server from its catalogues when it serves this script (gathering/reach/pages.py). The host
  // page's language picks them (the lang attribute of the box or of an element around it);
  // English otherwise.
  var LANGUAGES = /*WORDS*/{};

  function wordsFor(box) {
    var marked = box.closest ? box.closest("[lang]") : null;
    var code = ((marked && marked.getAttribute("lang")) || "").toLowerCase().split("-")[0];
    return LANGUAGES[code] || LANGUAGES.en;
  }

  function fill(template, name, value) { return template.split("{" + name + "}").join(value); }

  // "Saturday 18 September 2021", as the embed page writes it (no locale guesswork).
  function dayHeading(W, stamp) {
    var parts = stamp.slice(0, 10).split("-");
    var day = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2], 12));
    return W.days[day.getUTCDay()] + " " + (+parts[2]) + " " + W.months[+parts[1] - 1] + " " + parts[0];
  }

  function place(W, session) {
    if (session.format === "online") return W.online;
    var where = session.room ? session.room.name + ", " + session.room.venue.name : W.venueTbc;
    return session.format === "hybrid" ? where + " " + W.andOnline : where;
  }

  function sessionItem(W, session, withDate) {
    var item = element("li", "session");
    if (session.is_cancelled) item.className += " gathering-embed__session--cancelled";
    var title = link(session.url, "");
    if (session.is_cancelled) title.appendChild(element("del", null, session.title));
    else title.textContent = session.title;
    item.appendChild(title);
    if (session.is_cancelled) item.appendChild(element("strong", "badge", " " + W.cancelled));
    var when = (withDate ? dayHeading(W, session.starts_at) + ", " : "") +
      clock(session.starts_at) + "–" + clock(session.ends_at);
    item.appendChild(element("p", "when-where", when + " · " + place(W, session)));
    if (session.hosts && session.hosts.length) {
      var names = session.hosts.map(function (h) { return h.name; }).join(", ");
      item.appendChild(element("p", "hosts", fill(W.hostedBy, "names", names)));
    }
    return item;
  }

  function groupSection(W, heading, sessions, withDate) {
    var section = element("section", "group");
    section.appendChild(element("h3", "heading", heading));
    var list = element("ul", "sessions");
    sessions.forEach(function (s) { list.appendChild(sessionItem(W, s, withDate)); });
    section.appendChild(list);
    return section;
  }

  function byKey(sessions, key) {
    var groups = [];
    var seen = {};
    sessions.forEach(function (s) {
      var k = key(s);
      if (!(k in seen)) { seen[k] = groups.length; groups.push({ key: k, sessions: [] }); }
      groups[seen[k]].sessions.push(s);
    });
    return groups;
  }

  function renderGathering(W, box, data, track) {
    var sessions = data.sessions.filter(function (s) {
      return !track || (s.track && s.track.slug === track);
    });
    var title = data.title;
    if (track && sessions.length) title += ": " + sessions[0].track.name;
    box.appendChild(element("h2", "title")).appendChild(link(data.url, title));
    byKey(sessions, function (s) { return s.starts_at.slice(0, 10); }).forEach(function (g) {
      box.appendChild(groupSection(W, dayHeading(W, g.key), g.sessions, false));
    });
    return sessions.length;
  }

  function renderOrganisation(W, box, data) {
    var sessions = data.sessions.map(function (a) { return a.session; });
    box.appendChild(element("h2", "title")).appendChild(
      link(data.url, fill(W.organisationTitle, "name", data.name)));
    byKey(sessions, function (s) { return s.gathering.title; }).forEach(function (g) {
      box.appendChild(groupSection(W, g.key, g.sessions, true));
    });
    return sessions.length;
  }

  function render(box) {
    var W = wordsFor(box);
    if (!API || !W) return;
    var gathering = box.getAttribute("data-gathering") || "";
    var organisation = box.getAttribute("data-organisation") || "";
    var track = box.getAttribute("data-track") || "";
    var slug = gathering || organisation;
    if (!SLUG.test(slug) || (track && !SLUG.test(track))) return;
    var path = gathering ? "/gatherings/" + slug : "/organisations/" + slug;
    box.setAttribute("aria-busy", "true");
    fetch(API + path, { credentials: "omit", referrerPolicy: "no-referrer", mode: "cors" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        box.textContent = "";
        var count = gathering ? renderGathering(W, box, data, track) : renderOrganisation(W, box, data);
        if (!count) box.appendChild(element("p", "empty", W.empty));
        box.setAttribute("data-rendered", String(count));
      })
      .catch(function () {
        box.textContent = "";
        box.appendChild(element("p", "error", W.error));
        box.setAttribute("data-rendered", "error");
      })
      .then(function () { box.removeAttribute("aria-busy"); });
  }

  function renderAll() {
    var boxes = document.querySelectorAll(".gathering-embed[data-gathering], .gathering-embed[data-organisation]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (!box.hasAttribute("data-rendered") && !box.hasAttribute("aria-busy")) render(box);
    });
  }

  // The snippet builder re-renders its preview after a change.
  window.GatheringEmbed = { render: render, renderAll: renderAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll);
  else renderAll();
})();
