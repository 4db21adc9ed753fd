// The scan page: camera (BarcodeDetector, else jsQR on canvas frames), typed codes, the help
// desk, a full-screen answer for every scan, undo, and live counters (Server-Sent Events, else
// polling). It talks only to the door's JSON API; see gathering/door/api.py.
(function () {
  "use strict";

  var root = document.getElementById("door");
  if (!root) return;

  // --- settings ---------------------------------------------------------------------------
  var COOLDOWN_MS = 5000; // the same code is ignored this long after its answer (ticket held in view)
  var SHOW_MS = { green: 1800, amber: 2800, red: 3200 }; // then back to scanning without a tap
  var ATTEMPTS = 4; // a scan is sent at most this often, always with the same nonce
  var TIMEOUT_MS = 5000; // per attempt
  var SLOW_MS = 600; // after this, say "Checking…"
  var POLL_MS = 5000; // counts, when Server-Sent Events are not available
  var JSQR_SIZE = 480; // frames are cropped to the middle square and scaled to at most this

  function $(id) { return document.getElementById(id); }

  // The page's words, in its language (gathering/door/page_words.py), as JSON in the page's
  // data-words, so a page kept for use without signal keeps them. {name} fields are filled here.
  var WORDS = {};
  try { WORDS = JSON.parse(root.dataset.words || "{}") || {}; } catch (e) { WORDS = {}; }
  var LANGUAGE = document.documentElement.lang || "en-GB";
  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  function say(key, values) { return fill(WORDS[key] || key, values); }
  // A plural: the form of count's CLDR category in the page's language.
  function sayCount(key, count, values) {
    var forms = (WORDS.plurals || {})[key] || {};
    // The category of each count up to 100 comes with the words (a browser may not know Welsh);
    // above that, the browser's rules where it knows the language.
    var known = WORDS.plural_categories || { 1: "one" };
    var category = count <= 100 ? known[count] || "other" : "other";
    if (count > 100) {
      try {
        if (Intl.PluralRules.supportedLocalesOf([LANGUAGE]).length) category = new Intl.PluralRules(LANGUAGE).select(count);
      } catch (e) { /* "other" */ }
    }
    var text = forms[category] || forms.other || key;
    return fill(text, Object.assign({ count: count }, values || {}));
  }

  var csrfMeta = document.querySelector("meta[name='csrf-token']");
  var csrf = csrfMeta ? csrfMeta.content : "";
  var data = root.dataset;
  var urls = {
    scan: data.scanUrl, undo: data.undoUrl, counts: data.countsUrl, close: data.closeUrl,
    events: data.eventsUrl, search: data.searchUrl, signedOut: data.signedOutUrl,
    bundle: data.bundleUrl, sync: data.syncUrl, worker: data.workerUrl
  };
  var offline = window.GatheringDoorOffline && window.GatheringDoorOffline.isSupported
    ? window.GatheringDoorOffline : null;
  var passId = Number(data.passId);
  var el = {
    main: $("main"), bar: document.querySelector(".door-bar"),
    blocked: $("door-blocked"), blockedMessage: $("door-blocked-message"),
    stale: $("door-stale"), staleReload: $("door-stale-reload"),
    session: $("door-session"), door: $("door-name"), sound: $("door-sound"),
    countIn: $("door-count-in"), countRegistered: $("door-count-registered"), countLeft: $("door-count-left"),
    countHere: $("door-count-here"), countQueued: $("door-count-queued"),
    live: $("door-live"), network: $("door-network"), ready: $("door-ready"), syncReport: $("door-sync-report"), rapid: $("door-rapid"),
    viewfinder: $("door-viewfinder"), video: $("door-video"), cameraButton: $("door-camera-button"),
    cameraStatus: $("door-camera-status"),
    codeForm: $("door-code-form"), code: $("door-code"),
    undo: $("door-undo"), undoStatus: $("door-undo-status"),
    helpdesk: $("door-helpdesk"), searchForm: $("door-search-form"), search: $("door-search"),
    searchMessage: $("door-search-message"), searchResults: $("door-search-results"),
    closeForm: $("door-close-form"),
    result: $("door-result"), resultTitle: $("door-result-title"), resultName: $("door-result-name"),
    resultDetail: $("door-result-detail"), resultNeeds: $("door-result-needs"),
    resultRetry: $("door-result-retry"), resultReload: $("door-result-reload"), resultNext: $("door-result-next"),
    announcer: $("door-announce")
  };

  var store = {
    get: function (key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } },
    set: function (key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  };
  var DOOR_KEY = "gathering.door.name";
  var SESSION_KEY = "gathering.door.session." + data.passId;
  var SOUND_KEY = "gathering.door.sound";

  var savedDoor = store.get(DOOR_KEY);
  if (savedDoor) el.door.value = savedDoor;
  el.door.addEventListener("input", function () { store.set(DOOR_KEY, el.door.value.trim()); });
  var savedSession = store.get(SESSION_KEY);
  if (savedSession !== null) {
    for (var i = 0; i < el.session.options.length; i++) {
      if (el.session.options[i].value === savedSession) el.session.value = savedSession;
    }
  }
  if (store.get(SOUND_KEY) === "off") el.sound.checked = false;
  el.sound.addEventListener("change", function () { store.set(SOUND_KEY, el.sound.checked ? "on" : "off"); });

  function sessionId() {
    var value = el.session.value;
    return value === "" ? null : Number(value);
  }
  function kind() {
    var checked = document.querySelector("input[name='kind']:checked");
    return checked ? checked.value : "entry";
  }
  function doorName() { return el.door.value.trim().slice(0, 120); }

  // --- small helpers ----------------------------------------------------------------------
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function newNonce() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function codeKey(text) { return String(text).trim().toUpperCase().replace(/[\s-]+/g, ""); }

  // fetch with a time limit; resolves {status, ok, json, data} or rejects on no answer at all.
  // json says the answer was the door API's own (a JSON object): only such an answer may admit
  // or stop scanning. Anything else (asgi-csrf's HTML refusal, a proxy's or a hotel wifi's page)
  // has data {}.
  function call(method, url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    var options = {
      method: method, credentials: "same-origin", cache: "no-store",
      headers: { "accept": "application/json" }
    };
    if (controller) options.signal = controller.signal;
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.headers["x-csrftoken"] = csrf;
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      var type = (response.headers.get("content-type") || "").toLowerCase();
      var parsed = type.indexOf("application/json") === 0
        ? response.json().catch(function () { return null; })
        : Promise.resolve(null);
      return parsed.then(function (json) {
        var isJson = json !== null && typeof json === "object" && !Array.isArray(json);
        if (isJson) heard();
        return { status: response.status, ok: response.ok, json: isJson, data: isJson ? json : {} };
      });
    }).finally(function () { clearTimeout(timer); });
  }

  // The door API's refusals that stop scanning (see gathering/door/api.py): "signed_out" for
  // a 401 naming the device, "pass" for a 403 naming the pass; "" for anything else, above all an
  // HTML 403 from asgi-csrf, which says this page's token is stale, not the pass.
  var SIGNED_OUT_REASONS = ["not_signed_in", "unknown_pass", "wrong_pin"];
  var PASS_REASONS = ["pass_revoked", "pass_expired", "not_yet_valid"];
  var SIGNED_OUT_TEXT = say("signed_out_text");
  var STALE_TEXT = say("stale");

  function passRefusal(reply) {
    if (!reply.json) return "";
    var code = reply.data.error;
    if (reply.status === 401 && SIGNED_OUT_REASONS.indexOf(code) !== -1) return "signed_out";
    if (reply.status === 403 && PASS_REASONS.indexOf(code) !== -1) return "pass";
    return "";
  }

  // Stops scanning if the reply is such a refusal; says which ("" if not).
  function stopIfRefused(reply) {
    var why = passRefusal(reply);
    if (why === "signed_out") block(SIGNED_OUT_TEXT);
    else if (why === "pass") block(reply.data.message || say("pass_unusable"));
    return why;
  }

  // A refusal that is not the door API's: most likely asgi-csrf's (the page's token is stale,
  // e.g. the browser was restarted and forgot its session cookies). Reloading fixes it.
  function isStale(reply) { return reply.status === 403 && !reply.json; }

  function showStale() { el.stale.hidden = false; }
  function reload() { window.location.reload(); }
  el.staleReload.addEventListener("click", reload);

  var timeZone = data.timezone;
  function formatter(options) {
    try { return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: timeZone }, options)); }
    catch (e) { return new Intl.DateTimeFormat("en-GB", options); }
  }
  // "14:05", or "Sat 25 Sep 14:05" on another day, on the gathering's clocks. Browsers need not
  // know the page's language (Chromium may lack Welsh), so the day and month names come with the
  // page's words (CLDR's, from the server) and the browser gives only numbers and the weekday.
  var WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var clockFormat = formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var dayFormat = formatter({ weekday: "short", day: "numeric", month: "short" });
  var dayParts = formatter({ weekday: "short", day: "numeric", month: "numeric" });
  function day(moment) {
    if (!WORDS.weekdays || !WORDS.months || !dayParts.formatToParts) return dayFormat.format(moment);
    var part = {};
    dayParts.formatToParts(moment).forEach(function (p) { part[p.type] = p.value; });
    var weekday = WORDS.weekdays[WEEKDAYS.indexOf(String(part.weekday).slice(0, 3))];
    var month = WORDS.months[Number(part.month) - 1];
    return weekday && month ? weekday + " " + part.day + " " + month : dayFormat.format(moment);
  }
  function when(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) return "";
    var sameDay = dayFormat.format(moment) === dayFormat.format(new Date());
    return (sameDay ? "" : day(moment) + " ") + clockFormat.format(moment);
  }

  var announceTimer = null;
  function announce(text) {
    el.announcer.textContent = "";
    clearTimeout(announceTimer);
    setTimeout(function () { el.announcer.textContent = text; }, 60);
    // Names do not stay on the page, not even where only a screen reader would find them.
    announceTimer = setTimeout(function () { el.announcer.textContent = ""; }, 8000);
  }

  // --- sound and vibration ----------------------------------------------------------------
  var audio = null;
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) {
      try { audio = new Context(); } catch (e) { audio = null; }
    }
    if (audio && audio.state === "suspended") audio.resume();
  }
  function tone(frequency, start, duration, type) {
    var t = audio.currentTime + start;
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.type = type || "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + duration);
    oscillator.connect(gain);
    gain.connect(audio.destination);
    oscillator.start(t);
    oscillator.stop(t + duration + 0.05);
  }
  var VIBRATION = { green: [90], amber: [160, 90, 160], red: [450, 120, 450] };
  function signal(status) {
    if (!el.sound.checked) return;
    if (audio && audio.state === "running") {
      if (status === "green") { tone(880, 0, 0.12); tone(1320, 0.13, 0.2); }
      else if (status === "amber") { tone(620, 0, 0.2, "triangle"); tone(620, 0.3, 0.2, "triangle"); }
      else if (status === "red") { tone(196, 0, 0.6, "square"); }
    }
    if (navigator.vibrate && VIBRATION[status]) navigator.vibrate(VIBRATION[status]);
  }

  // --- the full-screen answer -------------------------------------------------------------
  var busy = false; // a scan is being answered or its answer is on screen
  var blocked = false; // the pass cannot be used any more
  var hideTimer = null;
  var returnFocus = null;
  var failedBody = null; // the last scan that got no answer: "Try again" resends it, same nonce
  var answered = new Map(); // code -> when it was answered (ms)

  function fillResult(status, title, name, detail, needs) {
    el.result.dataset.status = status;
    el.resultTitle.textContent = title;
    el.resultName.textContent = name || "";
    el.resultName.hidden = !name;
    el.resultDetail.textContent = detail || "";
    el.resultDetail.hidden = !detail;
    el.resultNeeds.textContent = needs ? say("access_needs", { needs: needs }) : "";
    el.resultNeeds.hidden = !needs;
    if (el.result.hidden) {
      returnFocus = document.activeElement;
      el.result.hidden = false;
      el.main.inert = true;
      if (el.bar) el.bar.inert = true;
    }
  }

  function showPending(text) {
    clearTimeout(hideTimer);
    fillResult("pending", text, "", say("hold_on"), "");
    el.resultRetry.hidden = true;
    el.resultReload.hidden = true;
    el.resultNext.hidden = true;
  }

  function hideResult() {
    if (el.result.hidden || el.result.dataset.status === "pending") return;
    clearTimeout(hideTimer);
    el.result.hidden = true;
    el.result.dataset.status = "";
    el.resultName.textContent = el.resultDetail.textContent = el.resultNeeds.textContent = "";
    el.main.inert = false;
    if (el.bar) el.bar.inert = false;
    failedBody = null;
    busy = false;
    if (returnFocus && returnFocus !== document.body && document.contains(returnFocus)) {
      returnFocus.focus({ preventScroll: true });
    }
    returnFocus = null;
  }

  function showFinal(status, title, name, detail, needs, holdMs) {
    fillResult(status, title, name, detail, needs);
    el.resultRetry.hidden = status !== "neutral";
    el.resultReload.hidden = true;
    el.resultNext.hidden = false;
    if (!el.rapid.checked) el.resultNext.focus({ preventScroll: true });
    announce([title, name, detail, needs ? say("access_needs", { needs: needs }) : ""].filter(Boolean).join(". "));
    signal(status);
    clearTimeout(hideTimer);
    if (holdMs) hideTimer = setTimeout(hideResult, holdMs);
  }

  el.result.addEventListener("click", function (event) {
    if (event.target === el.resultRetry || event.target === el.resultReload) return;
    hideResult();
  });
  el.resultReload.addEventListener("click", reload);
  el.resultRetry.addEventListener("click", function () {
    var body = failedBody;
    if (!body) return;
    unlockAudio();
    showPending(say("trying_again"));
    send(body);
  });
  document.addEventListener("keydown", function (event) {
    if (!el.result.hidden && event.key === "Escape") hideResult();
  });

  var ANSWERS = ["green", "amber", "red"];

  // Only a JSON answer of the scan API with one of its statuses is an answer about the ticket.
  function isAnswer(reply) { return reply.json && ANSWERS.indexOf(reply.data.status) !== -1; }

  function showAnswer(answer, body) {
    var status = answer.status;
    var isExit = answer.kind === "exit";
    var title, detail = "", needs = "";
    if (status === "green") {
      title = isExit ? say("checked_out") : say("admitted");
      detail = answer.ticket_type || "";
      needs = answer.access_needs || "";
      lastCheckIn = { nonce: body.nonce, name: answer.name || "", kind: answer.kind };
      el.undo.disabled = false;
    } else if (status === "amber") {
      title = say("already_checked_in");
      var first = answer.first_at
        ? say(answer.door ? "first_checked_in_at_door" : "first_checked_in_at", { time: when(answer.first_at), door: answer.door })
        : say(answer.door ? "checked_in_earlier_at_door" : "checked_in_earlier", { door: answer.door });
      detail = [answer.ticket_type, first].filter(Boolean).join(" · ");
    } else {
      status = "red";
      title = isExit ? say("not_checked_out") : say("not_admitted");
      detail = answer.message || say("refused");
    }
    if (body.code) answered.set(codeKey(body.code), Date.now());
    if (answer.offline) {
      title = OFFLINE_TITLES[status] || title;
      if (status === "red") detail = OFFLINE_WORDS[answer.reason] || detail;
      if (status === "amber") detail = [answer.ticket_type, answer.first_at ? say("admitted_here_at", { time: when(answer.first_at) }) : ""].filter(Boolean).join(" · ");
      if (isExit && status === "green") title = say("offline_checked_out");
    } else if (status === "green" && offline && body.code) {
      offline.noteAdmitted(body.code, body.session_id, answer.kind, answer.at).then(showQueue);
    }
    showFinal(status, title, answer.name || "", detail, needs, SHOW_MS[status]);
    el.undoStatus.textContent = "";
    if (PASS_REASONS.indexOf(answer.reason) !== -1) { forgetOffline(); block(answer.message); }
    if (!events) refreshCounts();
    return status;
  }

  function showRefusal(reply, body) {
    var why = passRefusal(reply);
    var message = (reply.json && reply.data.message) || say("server_refused", { status: reply.status });
    if (body.code) answered.set(codeKey(body.code), Date.now());
    if (why === "signed_out") {
      showFinal("red", say("signed_out_title"), "", say("signed_out_detail"), "", 0);
      block(SIGNED_OUT_TEXT);
      return "red";
    }
    if (why === "pass") {
      showFinal("red", say("pass_not_usable"), "", message, "", 0);
      block(message);
      return "red";
    }
    if (isStale(reply)) {
      // Not the pass: nothing reached the door API. Scanning goes on once the page is reloaded.
      showFinal("neutral", say("not_checked"), "", say("stale_not_checked"), "", 0);
      el.resultRetry.hidden = true;
      el.resultReload.hidden = false;
      showStale();
      return "neutral";
    }
    showFinal("neutral", say("not_checked"), "", message, "", 0);
    el.resultRetry.hidden = true;
    return "neutral";
  }

  function showNoAnswer(body, why) {
    failedBody = body;
    showFinal("neutral", say("no_answer"), "", say(why || "unreachable"), "", 0);
    return "neutral";
  }

  // One scan: the same body (and nonce) is resent on no answer, so a retry can never admit twice.
  function send(body) {
    busy = true;
    var slow = setTimeout(function () { showPending(say("checking")); }, SLOW_MS);
    var attempt = 0;
    function next() {
      attempt += 1;
      return call("POST", urls.scan, body).then(function (reply) {
        if (reply.status >= 500 && attempt < ATTEMPTS) return retry();
        clearTimeout(slow);
        if (reply.status >= 500) return showNoAnswer(body);
        if (isAnswer(reply)) return showAnswer(reply.data, body);
        // A 2xx that is not the scan API's answer (a wifi login page, say): never green. The
        // same nonce again is safe, so "Try again" is offered.
        if (reply.ok) return showNoAnswer(body, "unreadable");
        return showRefusal(reply, body);
      }, function () {
        if (attempt < ATTEMPTS) return retry();
        clearTimeout(slow);
        return showNoAnswer(body);
      });
    }
    function retry() {
      clearTimeout(slow);
      showPending(say("retrying", { attempt: attempt + 1, attempts: ATTEMPTS }));
      return sleep(400 * Math.pow(2, attempt - 1)).then(next);
    }
    return next();
  }

  // Resolves with the answer's status (green, amber, red or neutral); "" if not sent.
  function scan(what) {
    if (busy || blocked) return Promise.resolve("");
    var body = { session_id: sessionId(), door: doorName(), kind: kind(), nonce: newNonce() };
    if (what.ref) body.ref = what.ref; else body.code = what.code;
    if (body.code && offline && !navigator.onLine) return decideOffline(body);
    return send(body);
  }

  // --- the door offline (issue 15) ----------------------------------------------------------
  // The answers this phone works out itself: the server's words for the same reasons.
  var OFFLINE_TITLES = { green: say("offline_green"), amber: say("offline_amber"), red: say("offline_red") };
  var OFFLINE_WORDS = Object.assign({}, WORDS.offline_reasons || {}, { not_checked_in: say("not_checked_in_offline") });
  var SYNC_MS = 15000; // queued scans are sent this often while online (and at once on reconnect)
  var BUNDLE_MS = 5 * 60 * 1000; // the bundle is fetched again this often while online
  var lastHeard = null;
  var syncing = false;

  function heard() {
    lastHeard = new Date();
    if (offline) offline.setMeta("last_heard", lastHeard.toISOString());
    showNetwork();
  }

  function showNetwork() {
    var isOnline = navigator.onLine;
    el.network.dataset.state = isOnline ? "online" : "offline";
    var heardText = lastHeard ? say("last_heard", { time: when(lastHeard.toISOString()) }) : say("not_heard");
    el.network.textContent = (isOnline ? say("online") : say("offline")) + " · " + heardText;
  }

  // Ready for no signal: the Service Worker has this page and its files (it says so once they
  // are written, see door-sw.js) and the offline list for this pass is stored.
  var readiness = { page: false, list: false };
  function showReady() {
    var ready = readiness.page && readiness.list;
    el.ready.dataset.ready = ready ? "yes" : "no";
    if (ready) el.ready.textContent = say("ready_yes");
    else if (!offline || !navigator.serviceWorker) el.ready.textContent = say("ready_unsupported");
    else if (readiness.list) el.ready.textContent = say("ready_keeping");
    else el.ready.textContent = say("ready_getting");
  }

  function showQueue() {
    if (!offline) return Promise.resolve();
    return Promise.all([offline.queued(), offline.meta("admitted_here")]).then(function (found) {
      el.countQueued.textContent = String(found[0].length);
      el.countHere.textContent = String(found[1] || 0);
    });
  }

  function decideOffline(body) {
    busy = true;
    return offline.verdict(body).then(function (answer) {
      if (answer.status === "neutral") {
        showFinal("neutral", say("not_checked"), "", say("no_bundle"), "", 0);
        return "neutral";
      }
      var status = showAnswer(answer, body);
      showQueue();
      return status;
    }, function () {
      showFinal("neutral", say("not_checked"), "", say("offline_failed"), "", 0);
      return "neutral";
    });
  }

  function report(text) {
    el.syncReport.textContent = text;
    el.syncReport.hidden = !text;
  }

  // Sends the queue in turns; the server's answers settle each scan (see gathering/door/offline.py).
  function syncQueue() {
    if (!offline || syncing || !navigator.onLine || !urls.sync) return Promise.resolve();
    syncing = true;
    return offline.queued().then(function (queue) {
      if (!queue.length) return null;
      queue.sort(function (a, b) { return a.at < b.at ? -1 : 1; });
      return call("POST", urls.sync, { scans: queue.slice(0, 50) }).then(function (reply) {
        if (!reply.ok || !reply.json || !Array.isArray(reply.data.results)) {
          if (stopIfRefused(reply)) forgetOffline();
          return null;
        }
        var refused = [], twice = 0, revoked = null;
        return Promise.all(reply.data.results.map(function (answer) {
          if (answer.status === "red") refused.push(answer);
          if (answer.reason === "admitted_twice_offline") twice += 1;
          if (PASS_REASONS.indexOf(answer.reason) !== -1) revoked = answer.message;
          return offline.dequeue(answer.nonce);
        })).then(function () {
          var lines = [];
          if (refused.length) {
            lines.push(sayCount("sync_refused", refused.length, { message: refused[0].message || refused[0].reason }));
          }
          if (twice) lines.push(sayCount("sync_twice", twice));
          if (lines.length) report(lines.join(" "));
          if (revoked) { forgetOffline(); block(revoked); }
          if (!events) refreshCounts();
          return reply.data.results.length === 50 ? "more" : null;
        });
      });
    }).catch(function () { return null; }).then(function (more) {
      syncing = false;
      showQueue();
      if (more === "more") return syncQueue();
      return null;
    });
  }

  function fetchBundle() {
    if (!offline || blocked || !navigator.onLine || !urls.bundle) return Promise.resolve();
    return fetch(urls.bundle, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      var type = (response.headers.get("content-type") || "").toLowerCase();
      if (response.ok && type.indexOf("application/octet-stream") === 0) {
        heard();
        return response.arrayBuffer().then(function (buffer) { return offline.save(passId, buffer); })
          .then(function (parsed) { readiness.list = Boolean(parsed); showReady(); return parsed; });
      }
      if (response.status === 401 || response.status === 403) {
        // The pass cannot be used any more: what this phone holds for it goes.
        return response.json().then(function (answer) {
          if (answer && (SIGNED_OUT_REASONS.indexOf(answer.error) !== -1 || PASS_REASONS.indexOf(answer.error) !== -1)) {
            return forgetOffline();
          }
          return null;
        }, function () { return null; });
      }
      return null;
    }).catch(function () { return null; });
  }

  function forgetOffline() {
    if (!offline) return Promise.resolve();
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget" });
    }
    readiness.list = false;
    readiness.page = false;
    showReady();
    return offline.forget().then(showQueue);
  }

  function startOffline() {
    showNetwork();
    showReady();
    if (!offline) return;
    offline.meta("last_heard").then(function (value) {
      if (value && !lastHeard) { lastHeard = new Date(value); showNetwork(); }
    });
    offline.restore(passId).then(function (kept) {
      if (kept) { readiness.list = true; showReady(); }
      showQueue();
      return fetchBundle();
    }).then(syncQueue);
    setInterval(function () { if (!document.hidden) syncQueue(); }, SYNC_MS);
    setInterval(function () { if (!document.hidden) fetchBundle(); }, BUNDLE_MS);
    window.addEventListener("online", function () { showNetwork(); syncQueue(); fetchBundle(); });
    window.addEventListener("offline", showNetwork);
    if (navigator.serviceWorker && urls.worker) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        var data = event.data || {};
        if (data.type !== "kept") return;
        readiness.page = data.wanted > 0 && data.kept === data.wanted;
        showReady();
      });
      if (navigator.serviceWorker.startMessages) navigator.serviceWorker.startMessages();
      navigator.serviceWorker.register(urls.worker, { scope: "/door/" }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        // The files this page was served with, kept so it opens with no network.
        var files = [window.location.pathname + window.location.search]; // ?lang= too: kept in its language
        Array.prototype.forEach.call(document.querySelectorAll("script[src], link[rel='stylesheet'], link[rel='icon']"), function (node) {
          files.push(node.src || node.href);
        });
        // With the words of the page it shows a phone that never kept this one, with no signal.
        var notKept = { language: LANGUAGE, title: say("no_signal"), text: say("not_kept") };
        if (registration.active) registration.active.postMessage({ type: "keep", urls: files, words: notKept });
      }).catch(function () { /* no offline page: scanning online still works */ });
    }
  }

  // --- rapid mode: a hardware scanner types the code and Enter ------------------------------
  var RAPID_KEY = "gathering.door.rapid";
  var typed = "";
  if (store.get(RAPID_KEY) === "on") el.rapid.checked = true;
  el.rapid.addEventListener("change", function () { store.set(RAPID_KEY, el.rapid.checked ? "on" : "off"); typed = ""; });
  document.addEventListener("keydown", function (event) {
    if (!el.rapid.checked || blocked) return;
    var target = event.target;
    var isTextField = target && (target.tagName === "TEXTAREA" ||
      (target.tagName === "INPUT" && ["text", "search", "password"].indexOf(target.type) !== -1));
    if (isTextField || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Enter") {
      var code = typed;
      typed = "";
      if (code.length < 8) return;
      event.preventDefault();
      unlockAudio();
      // The next ticket is already here: the answer on screen gives way to it.
      if (!el.result.hidden && el.result.dataset.status !== "pending") hideResult();
      scan({ code: code });
    } else if (event.key.length === 1) {
      typed = (typed + event.key).slice(-80);
    }
  });

  // --- typed codes ------------------------------------------------------------------------
  el.codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    unlockAudio();
    var code = el.code.value.trim();
    if (!code) {
      el.code.setAttribute("aria-invalid", "true");
      el.code.focus();
      announce(say("type_code_first"));
      return;
    }
    el.code.removeAttribute("aria-invalid");
    if (busy || blocked) return;
    scan({ code: code }).then(function (status) {
      // Cleared once answered green or amber; kept when refused, so a typo can be corrected.
      if ((status === "green" || status === "amber") && el.code.value.trim() === code) el.code.value = "";
    });
  });

  // --- the camera -------------------------------------------------------------------------
  var stream = null;
  var detector = null;
  var decodeTimer = null;
  // Every start and every stop moves this on: a start whose number is no longer current was
  // cancelled (Stop, a refused pass, the page hidden) while the browser was still opening the
  // camera, and must not switch it on when it opens.
  var cameraGeneration = 0;
  var resumeWhenVisible = false;
  var canvas = document.createElement("canvas");
  var context2d = null;

  function cameraState(state, text) {
    el.viewfinder.dataset.state = state;
    el.cameraStatus.textContent = text;
    el.cameraButton.textContent = state === "on" || state === "starting" ? say("camera_stop") : say("camera_start");
  }

  function decodeWithJsQR() {
    var video = el.video;
    var width = video.videoWidth, height = video.videoHeight;
    if (!width || !height) return null;
    var side = Math.min(width, height);
    var size = Math.min(side, JSQR_SIZE);
    if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
    if (!context2d) context2d = canvas.getContext("2d", { willReadFrequently: true });
    context2d.drawImage(video, (width - side) / 2, (height - side) / 2, side, side, 0, 0, size, size);
    var image = context2d.getImageData(0, 0, size, size);
    var found = window.jsQR(image.data, size, size, { inversionAttempts: "dontInvert" });
    return found && found.data ? found.data : null;
  }

  function makeDetector() {
    var viaJsQR = typeof window.jsQR === "function"
      ? { name: "jsqr", every: 250, detect: function () { return Promise.resolve(decodeWithJsQR()); } }
      : null;
    if (!("BarcodeDetector" in window)) return Promise.resolve(viaJsQR);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return viaJsQR;
      var native = new window.BarcodeDetector({ formats: ["qr_code"] });
      return {
        name: "native", every: 150,
        detect: function () {
          return native.detect(el.video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
        }
      };
    }).catch(function () { return viaJsQR; });
  }

  function onCode(text) {
    var key = codeKey(text);
    var last = answered.get(key);
    if (last && Date.now() - last < COOLDOWN_MS) return;
    answered.forEach(function (at, code) { if (Date.now() - at > COOLDOWN_MS) answered.delete(code); });
    scan({ code: text.trim() });
  }

  function decodeLoop(generation) {
    if (!stream || !detector || generation !== cameraGeneration) return;
    var ready = !busy && !blocked && !document.hidden && el.video.readyState >= 2;
    var step = ready ? detector.detect().catch(function () { return null; }) : Promise.resolve(null);
    step.then(function (text) {
      if (generation !== cameraGeneration) return; // stopped meanwhile: this loop ends
      if (text && !busy && !blocked) onCode(text);
      if (stream) decodeTimer = setTimeout(function () { decodeLoop(generation); }, detector.every);
    });
  }

  function stopTracks(media) {
    media.getTracks().forEach(function (track) { track.stop(); });
  }

  function startCamera() {
    if (blocked) return;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraState("off", say("camera_https"));
      return;
    }
    var generation = ++cameraGeneration;
    function cancelled() { return generation !== cameraGeneration; }
    cameraState("starting", say("camera_starting"));
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (media) {
      if (cancelled()) { stopTracks(media); return null; } // stopped while it was opening
      stream = media;
      el.video.srcObject = media;
      var playing = el.video.play();
      return Promise.all([playing && playing.catch ? playing.catch(function () {}) : null, detector || makeDetector()]);
    }).then(function (results) {
      if (!results || cancelled() || !stream) return;
      detector = results[1];
      if (!detector) {
        stopCamera();
        cameraState("off", say("camera_no_qr"));
        return;
      }
      cameraState("on", say("camera_on"));
      el.viewfinder.dataset.decoder = detector.name;
      clearTimeout(decodeTimer);
      decodeLoop(generation);
    }).catch(function (error) {
      if (cancelled()) return; // a stopped start has nothing to say
      stopCamera();
      var name = error && error.name;
      var text = name === "NotAllowedError" || name === "SecurityError"
        ? say("camera_not_allowed")
        : name === "NotFoundError" || name === "OverconstrainedError"
          ? say("camera_not_found")
          : say("camera_failed");
      cameraState("off", text);
    });
  }

  function stopCamera() {
    cameraGeneration += 1; // a start still waiting for the camera is cancelled
    clearTimeout(decodeTimer);
    if (stream) stopTracks(stream);
    stream = null;
    el.video.srcObject = null;
    cameraState("off", say("camera_off"));
  }

  el.cameraButton.addEventListener("click", function () {
    unlockAudio();
    if (stream || el.viewfinder.dataset.state === "starting") stopCamera(); else startCamera();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden && (stream || el.viewfinder.dataset.state === "starting")) {
      resumeWhenVisible = true; // the camera and the battery rest while the page is hidden
      stopCamera();
    } else if (!document.hidden && resumeWhenVisible && !blocked) {
      resumeWhenVisible = false;
      startCamera();
    }
  });

  // --- counters ---------------------------------------------------------------------------
  var events = null;
  var pollTimer = null;
  var fallbackTimer = null;

  function liveState(state, text) {
    el.live.dataset.state = state;
    el.live.textContent = text;
  }

  function showCounts(counts) {
    el.countIn.textContent = String(counts.checked_in);
    el.countRegistered.textContent = String(counts.registered);
    el.countLeft.textContent = counts.capacity_left === null || counts.capacity_left === undefined
      ? say("no_limit") : String(counts.capacity_left);
  }

  function sameSession(id) {
    var current = sessionId();
    return (id === null || id === undefined) ? current === null : Number(id) === current;
  }

  function countsQuery() {
    var id = sessionId();
    return "?session_id=" + (id === null ? "" : encodeURIComponent(String(id)));
  }

  function refreshCounts() {
    var asked = sessionId();
    return call("GET", urls.counts + countsQuery()).then(function (reply) {
      if (reply.ok && reply.json) {
        if (asked === sessionId()) showCounts(reply.data);
        if (!events || events.readyState !== 1) liveState("polling", say("counts_polling"));
      } else if (stopIfRefused(reply)) {
        return;
      } else if (reply.json && reply.data.error === "session_not_on_pass") {
        liveState("offline", reply.data.message);
      } else {
        liveState("offline", say("counts_unreadable"));
      }
    }, function () {
      liveState("offline", say("counts_no_connection"));
    });
  }

  function startPolling() {
    if (pollTimer || blocked) return;
    refreshCounts();
    pollTimer = setInterval(function () { if (!document.hidden) refreshCounts(); }, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function disconnectCounts() {
    clearTimeout(fallbackTimer);
    if (events) events.close();
    events = null;
    stopPolling();
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  function connectCounts() {
    disconnectCounts();
    if (blocked) return;
    if (!window.EventSource || !urls.events) { startPolling(); return; }
    liveState("connecting", say("connecting"));
    var source = new EventSource(urls.events + countsQuery());
    events = source;
    source.addEventListener("counts", function (event) {
      var counts = parse(event.data);
      if (counts && sameSession(counts.session_id)) showCounts(counts);
      if (events === source) { stopPolling(); liveState("live", say("live")); }
    });
    source.addEventListener("refused", function (event) {
      var refusal = parse(event.data) || {};
      source.close();
      if (events === source) events = null;
      block(refusal.message || say("pass_unusable"));
    });
    // A newer page on this phone took this stream's place (a phone holds two): poll instead,
    // so two pages do not keep taking the stream from each other.
    source.addEventListener("replaced", function () {
      source.close();
      if (events === source) { events = null; startPolling(); }
    });
    source.onopen = function () {
      clearTimeout(fallbackTimer);
      if (events === source) { stopPolling(); liveState("live", say("live")); }
    };
    source.onerror = function () {
      if (events !== source) return;
      clearTimeout(fallbackTimer);
      if (source.readyState === 2) { // closed for good (refused, or no stream here): poll
        events = null;
        startPolling();
      } else { // reconnecting by itself (streams end now and then): poll only if that drags on
        fallbackTimer = setTimeout(startPolling, 4000);
      }
    };
  }

  el.session.addEventListener("change", function () {
    store.set(SESSION_KEY, el.session.value);
    answered.clear(); // a ticket refused for one session may be fine for another
    el.countIn.textContent = el.countRegistered.textContent = el.countLeft.textContent = "–";
    connectCounts();
  });

  Array.prototype.forEach.call(document.querySelectorAll("input[name='kind']"), function (radio) {
    radio.addEventListener("change", function () {
      root.classList.toggle("door-is-exit", kind() === "exit");
      answered.clear();
      announce(kind() === "exit" ? say("scanning_out") : say("scanning_in"));
    });
  });

  window.addEventListener("online", function () { if (!blocked && !events) connectCounts(); });

  // --- undo -------------------------------------------------------------------------------
  var lastCheckIn = null; // {nonce, name, kind} of this phone's last green scan

  el.undo.addEventListener("click", function () {
    if (!lastCheckIn || blocked) return;
    var undoing = lastCheckIn;
    el.undo.disabled = true;
    el.undoStatus.textContent = say("undoing");
    // Never retried by itself: an undo is not idempotent on every server.
    call("POST", urls.undo, { nonce: undoing.nonce }).then(function (reply) {
      var answer = reply.data;
      if (reply.ok && reply.json && answer.status === "green") {
        el.undoStatus.textContent = say(undoing.kind === "exit" ? "undone_check_out" : "undone_check_in",
          { name: answer.name || undoing.name });
        setTimeout(function () { el.undoStatus.textContent = ""; }, 10000); // the name goes too
        lastCheckIn = null;
        if (!events) refreshCounts();
      } else if (isStale(reply)) {
        el.undoStatus.textContent = say("stale_nothing_undone");
        el.undo.disabled = false;
        showStale();
      } else if (stopIfRefused(reply)) {
        el.undoStatus.textContent = say("nothing_undone");
      } else {
        el.undoStatus.textContent = answer.message || say("undo_failed", { status: reply.status });
        if (answer.reason === "nothing_to_undo" || answer.reason === "undo_too_late") lastCheckIn = null;
        else el.undo.disabled = false;
      }
    }, function () {
      el.undoStatus.textContent = say("undo_no_connection");
      el.undo.disabled = false;
    });
  });

  // --- help desk --------------------------------------------------------------------------
  function clearSearch() {
    el.searchResults.textContent = "";
    el.searchMessage.textContent = "";
  }

  el.searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    unlockAudio();
    var query = el.search.value.trim();
    clearSearch();
    if (query.length < 3) {
      el.search.setAttribute("aria-invalid", "true");
      el.searchMessage.textContent = say("search_help");
      return;
    }
    el.search.removeAttribute("aria-invalid");
    el.searchMessage.textContent = say("searching");
    call("POST", urls.search, { query: query, session_id: sessionId() }).then(function (reply) {
      var answer = reply.data;
      if (reply.status === 404 || reply.status === 405) {
        el.searchMessage.textContent = say("search_unavailable");
        return;
      }
      if (isStale(reply)) {
        el.searchMessage.textContent = STALE_TEXT;
        showStale();
        return;
      }
      if (stopIfRefused(reply)) return;
      if (!reply.ok || !reply.json) {
        el.searchMessage.textContent = answer.message || say("search_failed", { status: reply.status });
        if (reply.status === 400) el.search.setAttribute("aria-invalid", "true");
        return;
      }
      var matches = Array.isArray(answer.matches) ? answer.matches : [];
      el.searchMessage.textContent = answer.message ||
        (matches.length ? sayCount("matches", matches.length) : say("no_one_found"));
      matches.forEach(function (match) {
        var item = document.createElement("li");
        var who = document.createElement("span");
        who.className = "door-match-who";
        var name = document.createElement("strong");
        name.textContent = match.name;
        who.appendChild(name);
        var facts = [match.ticket_type, match.checked_in ? say("checked_in_already") : ""].filter(Boolean);
        if (facts.length) {
          var meta = document.createElement("span");
          meta.className = "door-match-meta";
          meta.textContent = facts.join(" · ");
          who.appendChild(meta);
        }
        var admit = document.createElement("button");
        admit.type = "button";
        admit.textContent = kind() === "exit" ? say("check_out") : say("admit");
        admit.setAttribute("aria-label", admit.textContent + " " + match.name);
        admit.addEventListener("click", function () {
          unlockAudio();
          clearSearch(); // names do not linger on the screen
          el.search.value = "";
          scan({ ref: match.ref });
        });
        item.appendChild(who);
        item.appendChild(admit);
        el.searchResults.appendChild(item);
      });
    }, function () {
      el.searchMessage.textContent = say("search_no_connection");
    });
  });

  el.helpdesk.addEventListener("toggle", function () {
    if (!el.helpdesk.open) { clearSearch(); el.search.value = ""; }
  });

  // --- stopping: a refused pass, or signing out ---------------------------------------------
  function block(message) {
    if (blocked) return;
    blocked = true;
    resumeWhenVisible = false;
    stopCamera();
    disconnectCounts();
    clearSearch();
    liveState("offline", say("stopped"));
    el.blockedMessage.textContent = message;
    el.blocked.hidden = false;
    Array.prototype.forEach.call(root.querySelectorAll("button, input, select"), function (control) {
      if (!el.closeForm.contains(control) && control !== el.staleReload) control.disabled = true;
    });
  }

  el.closeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var waiting = Number(el.countQueued.textContent) || 0;
    var question = say("sign_out_question");
    if (waiting) question = sayCount("unsent", waiting) + " " + question;
    if (!window.confirm(question)) return;
    stopCamera();
    disconnectCounts();
    call("POST", urls.close, {}).then(function (reply) {
      if (reply.ok && reply.json) {
        forgetOffline().then(function () { window.location.assign(urls.signedOut); });
        return;
      }
      // Not signed out: the device cookie is still there, so the page must not say otherwise.
      if (isStale(reply)) showStale();
      else window.alert(say("sign_out_failed", { status: reply.status }));
      connectCounts();
    }, function () {
      window.alert(say("sign_out_no_connection"));
      connectCounts();
    });
  });

  window.addEventListener("pagehide", function () { disconnectCounts(); stopCamera(); });

  connectCounts();
  startOffline();
}());
