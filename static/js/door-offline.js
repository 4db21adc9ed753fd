// The door offline (issue 15): the offline bundle in IndexedDB, verdicts from it with no
// signal, and the queue of offline scans. Used by door-scan.js as window.GatheringDoorOffline.
//
// What this phone stores (IndexedDB "gathering-door"): the bundle as downloaded (keyed hashes,
// statuses, ticket types, session bitmaps and names sealed under each ticket's own code; see
// gathering/door/bundles.py), the queue of scans not yet sent (nonce, time, session, door, kind
// and the ticket's keyed hash), and the keyed hashes this phone admitted. Never a code, a name
// or an email: a name is opened (HKDF + AES-GCM, Web Crypto) only from a code just scanned, shown,
// and forgotten.
(function () {
  "use strict";

  var DB_NAME = "gathering-door";
  var STORES = ["bundle", "queue", "admitted", "meta"];
  var ALPHABET = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]+$/;
  var STATUS = { 0: "confirmed", 1: "cancelled", 2: "pending" };
  var subtle = window.crypto && window.crypto.subtle;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  var opened = null;
  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var req = window.indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          STORES.forEach(function (name) {
            if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
          });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return opened;
  }

  function store(name, mode) {
    return database().then(function (db) { return db.transaction(name, mode || "readonly").objectStore(name); });
  }
  function get(name, key) { return store(name).then(function (s) { return request(s.get(key)); }); }
  function put(name, key, value) { return store(name, "readwrite").then(function (s) { return request(s.put(value, key)); }); }
  function remove(name, key) { return store(name, "readwrite").then(function (s) { return request(s.delete(key)); }); }
  function all(name) { return store(name).then(function (s) { return request(s.getAll()); }); }
  function clear(name) { return store(name, "readwrite").then(function (s) { return request(s.clear()); }); }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2);
    return out;
  }
  function base64url(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64(text) {
    var raw = window.atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function normalised(code) {
    var text = String(code).trim().toUpperCase().replace(/[\s-]+/g, "");
    return text && text.length <= 64 && ALPHABET.test(text) ? text : null;
  }

  // The bundle as loaded: its header, an index from hash (hex) to record, the HMAC key.
  var bundle = null;

  function parse(buffer) {
    var bytes = new Uint8Array(buffer);
    var magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
    if (magic !== "GDB2") throw new Error("not a bundle");
    var length = new DataView(buffer).getUint32(4);
    var header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    var index = new Map();
    // Column by column (gathering/door/bundles.py): hashes, statuses, types, bitmaps, lengths, names.
    var count = header.count, hashBytes = header.hash_bytes, width = header.bitmap_bytes;
    var hashesAt = 8 + length, statusesAt = hashesAt + count * hashBytes, typesAt = statusesAt + count;
    var bitmapsAt = typesAt + count, lengthsAt = bitmapsAt + count * width, sealedAt = lengthsAt + count;
    for (var i = 0; i < count; i++) {
      var sealedLength = bytes[lengthsAt + i];
      index.set(hex(bytes.subarray(hashesAt + i * hashBytes, hashesAt + (i + 1) * hashBytes)), {
        status: bytes[statusesAt + i], type: bytes[typesAt + i],
        bitmap: bytes.subarray(bitmapsAt + i * width, bitmapsAt + (i + 1) * width),
        sealed: bytes.subarray(sealedAt, sealedAt + sealedLength)
      });
      sealedAt += sealedLength;
    }
    if (sealedAt !== bytes.length) throw new Error("a bundle of the wrong length");
    return { header: header, index: index };
  }

  function load(passId, buffer) {
    var parsed = parse(buffer);
    if (parsed.header.pass_id !== passId) throw new Error("another pass's bundle");
    return subtle.importKey("raw", fromBase64(parsed.header.key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (key) {
        parsed.key = key;
        parsed.salt = fromBase64(parsed.header.salt);
        parsed.info = new TextEncoder().encode(parsed.header.info);
        bundle = parsed;
        return parsed;
      });
  }

  function isExpired(header) { return Date.parse(header.expires_at) <= Date.now(); }

  function forget() {
    bundle = null;
    return Promise.all(STORES.map(clear)).catch(function () { return null; });
  }

  // The bundle kept on this phone for this pass, if still valid (else wiped).
  function restore(passId) {
    return get("bundle", "current").then(function (kept) {
      if (!kept || kept.pass_id !== passId) return kept ? forget().then(function () { return null; }) : null;
      return load(passId, kept.content).then(function (parsed) {
        if (isExpired(parsed.header)) return forget().then(function () { return null; });
        return parsed;
      });
    }).catch(function () { return null; });
  }

  function save(passId, buffer) {
    return load(passId, buffer).then(function (parsed) {
      return put("bundle", "current", { pass_id: passId, content: buffer, saved_at: Date.now() }).then(function () {
        return parsed;
      });
    });
  }

  function digest(code) {
    return subtle.sign("HMAC", bundle.key, new TextEncoder().encode(code)).then(function (mac) { return new Uint8Array(mac); });
  }

  function unseal(code, sealed) {
    var encoder = new TextEncoder();
    return subtle.importKey("raw", encoder.encode(code), "HKDF", false, ["deriveKey"]).then(function (base) {
      return subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: bundle.salt, info: bundle.info },
        base, { name: "AES-GCM", length: 128 }, false, ["decrypt"]);
    }).then(function (key) {
      return subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(12), tagLength: bundle.header.tag_bytes * 8 }, key, sealed);
    }).then(function (plain) {
      var parts = new TextDecoder().decode(plain).split("\n");
      return { name: parts[0] || "", needs: parts.slice(1).join(" ") };
    });
  }

  function hasPlace(record, sessionId) {
    var position = bundle.header.sessions.indexOf(sessionId);
    if (position === -1) return false;
    return (record.bitmap[position >> 3] >> (position & 7) & 1) === 1;
  }

  function admittedKey(hashHex, sessionId) { return hashHex + ":" + (sessionId === null ? "" : sessionId); }

  function bump(name, by) {
    return get("meta", name).then(function (value) { return put("meta", name, (value || 0) + by); });
  }

  // The phone's own answer to a scan: {status, reason, name, ticket_type, access_needs, offline}.
  // Green and exit answers are queued (with the nonce) to be sent when the signal returns.
  function verdict(scan) {
    function red(reason) { return Promise.resolve({ status: "red", reason: reason, kind: scan.kind, offline: true }); }
    var code = normalised(scan.code || "");
    if (!code) return red("bad_code");
    if (!bundle || isExpired(bundle.header)) return Promise.resolve({ status: "neutral", reason: "no_bundle", offline: true });
    return digest(code).then(function (mac) {
      var hashHex = hex(mac.subarray(0, bundle.header.hash_bytes));
      var record = bundle.index.get(hashHex);
      if (!record) return red("unknown_code");
      var status = STATUS[record.status] || "cancelled";
      if (status === "cancelled") return red("cancelled");
      if (status !== "confirmed") return red("not_confirmed");
      if (scan.session_id !== null && !hasPlace(record, scan.session_id)) return red("not_registered_for_session");
      var key = admittedKey(hashHex, scan.session_id);
      var type = bundle.header.ticket_types[record.type] || null;
      return get("admitted", key).then(function (inside) {
        return unseal(code, record.sealed).then(function (opened) {
          var answer = { status: "green", reason: "ok", kind: scan.kind, offline: true,
            name: opened.name, ticket_type: type, access_needs: scan.kind === "entry" ? opened.needs : "" };
          if (scan.kind === "entry" && inside) {
            answer.status = "amber";
            answer.reason = "already_admitted_here";
            answer.first_at = inside.at;
            answer.access_needs = "";
            return answer;
          }
          if (scan.kind === "exit" && !inside) return { status: "red", reason: "not_checked_in", kind: "exit", offline: true };
          var queued = { nonce: scan.nonce, hash: base64url(mac), session_id: scan.session_id,
            door: scan.door, kind: scan.kind, at: new Date().toISOString() };
          var mark = scan.kind === "entry"
            ? put("admitted", key, { at: queued.at }).then(function () { return bump("admitted_here", 1); })
            : remove("admitted", key);
          return put("queue", scan.nonce, queued).then(function () { return mark; }).then(function () { return answer; });
        });
      });
    });
  }

  // An online green answer: remember the ticket as admitted here, so an offline re-scan is amber.
  function noteAdmitted(code, sessionId, kind, at) {
    var text = normalised(code || "");
    if (!bundle || !text) return Promise.resolve();
    return digest(text).then(function (mac) {
      var key = admittedKey(hex(mac.subarray(0, bundle.header.hash_bytes)), sessionId);
      if (kind === "exit") return remove("admitted", key);
      return put("admitted", key, { at: at }).then(function () { return bump("admitted_here", 1); });
    }).catch(function () { return null; });
  }

  function queued() { return all("queue").catch(function () { return []; }); }
  function dequeue(nonce) { return remove("queue", nonce); }
  function meta(name) { return get("meta", name).catch(function () { return null; }); }
  function setMeta(name, value) { return put("meta", name, value).catch(function () { return null; }); }

  window.GatheringDoorOffline = {
    isSupported: !!(window.indexedDB && subtle && window.TextEncoder),
    restore: restore, save: save, forget: forget, verdict: verdict, noteAdmitted: noteAdmitted,
    queued: queued, dequeue: dequeue, meta: meta, setMeta: setMeta,
    hasBundle: function () { return !!bundle && !isExpired(bundle.header); },
    ticketCount: function () { return bundle ? bundle.index.size : 0; }
  };
}());
