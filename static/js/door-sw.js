// The door's Service Worker (issue 15): once a steward pass has been opened on this phone, the
// scan page opens with no network, even after the browser was closed. It keeps the scan page
// (which shows no people), its script, styles, the QR decoder and icons in Cache Storage; the
// offline bundle lives in IndexedDB (door-offline.js), never here. Served as /door/sw.js, so its
// scope is /door/. The door's API is never cached: it always goes to the network.
"use strict";

var CACHE = "gathering-door-v1";
var PAGE = "/door/scan";
var WORDS = "/door/sw-words"; // a cache key only: the no-signal page's words, as the page sent them

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("gathering-door-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isStatic(url) { return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0; }

// The page asks for its own files to be kept (they were fetched before this worker ran), and
// for everything to go on sign-out, expiry or revocation. Once the files are kept (or found kept
// from an earlier visit) the page is told, so the steward can see the phone is ready for a
// basement: a list of files still being written is not a promise the page can make.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) {
    var told = data.words && typeof data.words === "object" ? data.words : null;
    var wanted = data.urls.map(function (href) { return new URL(href, self.location.href); }).filter(function (url) {
      return url.origin === self.location.origin && (isStatic(url) || url.pathname === PAGE);
    });
    var keyOf = function (url) { return url.pathname === PAGE ? PAGE : url.href; };
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      var keptWords = told ? cache.put(WORDS, new Response(JSON.stringify({
        language: String(told.language || "en"), title: String(told.title || ""), text: String(told.text || "")
      }), { headers: { "content-type": "application/json" } })) : null;
      return Promise.all([keptWords].concat(wanted.map(function (url) {
        return fetch(url.href, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
          return response.ok ? cache.put(keyOf(url), response) : null;
        }).catch(function () { return null; }); // no signal: what was kept before still holds
      }))).then(function () {
        return Promise.all(wanted.map(function (url) { return cache.match(keyOf(url), { ignoreVary: true }); }));
      });
    }).then(function (found) {
      var kept = found.filter(Boolean).length;
      if (event.source) event.source.postMessage({ type: "kept", kept: kept, wanted: wanted.length });
    }));
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(CACHE));
  }
});

// What a phone that never kept the scan page sees instead of the browser's own error: in the
// language of the door page that last spoke to this worker (it sends its words), else English.
var NOT_KEPT = {
  language: "en",
  title: "No signal",
  text: "This phone has not kept the scan page yet. Open the pass link once where there is signal, " +
    "wait until the page says it can scan without signal, then it opens here too."
};
function escaped(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
  });
}
function notKept(cache) {
  return cache.match(WORDS).then(function (kept) { return kept ? kept.json() : null; }).catch(function () {
    return null;
  }).then(function (told) {
    var words = told && told.title && told.text ? told : NOT_KEPT;
    var body = "<!doctype html><html lang=\"" + escaped(words.language) + "\"><meta charset=\"utf-8\"><meta name=\"viewport\" " +
      "content=\"width=device-width, initial-scale=1\"><title>" + escaped(words.title) + "</title><h1>" +
      escaped(words.title) + "</h1><p>" + escaped(words.text) + "</p></html>";
    return new Response(body, { status: 503, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE && request.mode === "navigate") {
    // The network first (a fresh page, a fresh CSRF token); the kept copy when there is none.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(PAGE, copy); }));
      }
      return response;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) {
        return cache.match(PAGE, { ignoreVary: true, ignoreSearch: true }).then(function (kept) {
          return kept || notKept(cache);
        });
      });
    }));
    return;
  }
  if (isStatic(url)) {
    // Static files carry their content's hash in ?v=, so a kept copy is the right one.
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (kept) {
        if (kept) return kept;
        return fetch(request).then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        });
      });
    }));
  }
});
