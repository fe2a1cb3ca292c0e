// MOV's live pages: local times, the form's time zone, and one Socket.IO connection per tab
// for seat counts, your place, chat, typing, presence and the notification badge.
// Everything here is an enhancement: each page works without it, after a reload.
(function () {
  "use strict";

  var socket = null;      // the connection, while someone is signed in
  var userId = null;      // whose connection it is
  var room = null;        // { id, member, invite } of the event page we follow
  var typingTimer = null;
  var typingSent = 0;
  var typers = {};        // userId -> timer of the typing marks we show

  function $(id) { return document.getElementById(id); }
  function pageData() { var p = $("page"); return p ? p.dataset : {}; }
  function setLive(state) { document.body.dataset.live = state; }
  function say(text) { var c = $("connection"); if (c) { c.textContent = text; } }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      el.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      el.removeAttribute("data-local");
    });
  }

  function zoneFields(root) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    root.querySelectorAll("input[data-zone]").forEach(function (field) {
      var form = field.form;
      if (field.value !== "UTC" || !form) { return; }  // already the browser's zone
      field.value = zone;
      form.querySelectorAll("input[data-utc]").forEach(function (input) {
        if (!input.value) { return; }
        var d = new Date(input.value + ":00Z");
        if (isNaN(d)) { return; }
        input.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
          "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
      });
      var hint = form.querySelector("[data-zone-hint]");
      if (hint) { hint.textContent = "Times are in your time zone (" + zone + ")."; }
    });
  }

  function fetchDoc(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  // --- the event page ---------------------------------------------------------------------

  function refreshStatus() {
    if (!room) { return; }
    var url = "/events/" + room.id + "/status" + (room.invite ? "?invite=" + encodeURIComponent(room.invite) : "");
    var asked = room.id;
    fetchDoc(url).then(function (doc) {
      if (!room || room.id !== asked) { return; }
      ["availability", "place"].forEach(function (id) {
        var now = $(id), fresh = doc.getElementById(id);
        if (now && fresh && now.textContent !== fresh.textContent) { now.textContent = fresh.textContent; }
      });
      var box = $("event-status"), freshBox = doc.getElementById("event-status");
      if (!box || !freshBox) { return; }
      var actions = box.querySelector(".actions"), freshActions = freshBox.querySelector(".actions");
      if (actions && freshActions && actions.innerHTML !== freshActions.innerHTML) {
        actions.replaceWith(freshActions);
        if (window.htmx) { window.htmx.process(freshActions); }
      }
    }).catch(function () {});
  }

  function lastSeq() {
    var all = document.querySelectorAll("#messages .message[data-seq]");
    return all.length ? Number(all[all.length - 1].dataset.seq) : 0;
  }

  function addMessage(m) {
    var log = $("messages");
    if (!log || !room || m.eventId !== room.id) { return; }
    if (log.querySelector('.message[data-seq="' + m.seq + '"]')) { return; }  // no duplicates
    var empty = $("no-messages");
    if (empty) { empty.remove(); }
    var item = document.createElement("div");
    item.className = "message";
    item.dataset.seq = String(m.seq);
    var who = document.createElement("span");
    who.className = "author";
    who.textContent = m.senderName || "Someone";
    var when = document.createElement("time");
    when.setAttribute("datetime", m.createdAt);
    when.setAttribute("data-local", "");
    when.textContent = m.createdAt;
    var text = document.createElement("p");
    text.textContent = m.body;  // text, never markup
    item.append(who, " ", when, text);
    var after = null;  // keep the log in seq order, whatever order messages arrive in
    log.querySelectorAll(".message[data-seq]").forEach(function (el) {
      if (Number(el.dataset.seq) > m.seq && after === null) { after = el; }
    });
    log.insertBefore(item, after);
    localTimes(item);
    var near = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    if (near || m.senderId === Number(userId)) { log.scrollTop = log.scrollHeight; }
    stopTyping(m.senderId);
  }

  function catchUp(seq) {
    if (!room || !room.member || seq <= lastSeq()) { return Promise.resolve(); }
    return fetch("/events/" + room.id + "/messages", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) { list.forEach(addMessage); })
      .catch(function () {});
  }

  function refreshOnline() {
    if (!room || !room.member) { return; }
    fetchDoc("/events/" + room.id + "/online").then(function (doc) {
      var now = $("online"), fresh = doc.getElementById("online");
      if (now && fresh) { now.replaceWith(fresh); }
    }).catch(function () {});
  }

  function nameOf(id) {
    var el = document.querySelector('#online li[data-user-id="' + id + '"]');
    return el ? el.textContent : "Someone";
  }

  function showTyping() {
    var box = $("typing");
    if (!box) { return; }
    var names = Object.keys(typers).map(nameOf);
    box.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…" : "";
  }

  function stopTyping(id) {
    if (typers[id]) { clearTimeout(typers[id]); delete typers[id]; showTyping(); }
  }

  function onTyping(data) {
    if (!room || data.eventId !== room.id || data.userId === Number(userId)) { return; }
    stopTyping(data.userId);
    if (data.isTyping) {
      typers[data.userId] = setTimeout(function () { stopTyping(data.userId); }, 6000);
      showTyping();
    }
  }

  function sendTyping(isTyping) {
    if (!socket || !socket.connected || !room || !room.member) { return; }
    socket.emit("typing", { eventId: room.id, isTyping: isTyping });
  }

  function onInput() {
    var now = Date.now();
    if (now - typingSent > 2500) { typingSent = now; sendTyping(true); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingSent = 0; sendTyping(false); }, 3000);
  }

  function onSubmit(e) {
    var input = $("chat-message");
    if (!socket || !socket.connected || !room || !room.member || !input) { return; }  // plain POST
    e.preventDefault();
    var body = input.value.trim();
    if (!body) { return; }
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    socket.timeout(10000).emit("message", { eventId: room.id, body: body, clientMsgId: id }, function (err, ack) {
      if (err || !ack || !ack.ok) {
        say(ack && ack.message ? ack.message : "Message not sent, please try again.");
        setTimeout(function () { say(""); }, 4000);
        return;
      }
      addMessage(ack.message);
    });
    input.value = "";
    clearTimeout(typingTimer); typingSent = 0; sendTyping(false);
  }

  function enterRoom() {
    var data = pageData();
    var id = data.eventId ? Number(data.eventId) : null;
    if (room && room.id !== id) {
      if (room.member) { socket.emit("leave", { eventId: room.id }); }
      socket.emit("unwatch", { eventId: room.id });
      room = null;
    }
    if (!id) { setLive("connected"); return; }
    room = { id: id, member: data.member === "true", invite: data.invite || null };
    var asked = room;
    socket.emit("watch", { eventId: id, invite: room.invite }, function (ack) {
      if (room !== asked || !ack || !ack.ok) { return; }
      refreshStatus();
      if (!asked.member) { setLive("joined"); return; }
      socket.emit("join", { eventId: id }, function (joined) {
        if (room !== asked || !joined || !joined.ok) { return; }
        catchUp(joined.lastSeq).then(function () { setLive("joined"); });
        refreshOnline();
      });
    });
  }

  // --- the connection ---------------------------------------------------------------------

  function connect() {
    setLive("connecting");
    socket = window.io({ path: "/socket.io", transports: ["websocket", "polling"], withCredentials: true,
      reconnectionDelay: 500, reconnectionDelayMax: 10000, randomizationFactor: 0.5 });
    socket.on("connect", function () { say(""); setLive("connected"); enterRoom(); });
    socket.on("disconnect", function () {
      setLive("offline");
      if (socket && socket.active) { say("Connection lost. Reconnecting…"); }
    });
    socket.on("connect_error", function () { setLive("offline"); say("Cannot reach MOV. Retrying…"); });
    socket.on("availability", function (data) { if (room && data.eventId === room.id) { refreshStatus(); } });
    socket.on("removed", function (data) { if (room && data.eventId === room.id) { refreshStatus(); } });
    socket.on("message", addMessage);
    socket.on("typing", onTyping);
    socket.on("presence", function (data) { if (room && data.eventId === room.id) { refreshOnline(); } });
    socket.on("notification", function (n) {
      fetchDoc("/notifications/badge").then(function (doc) {
        var now = $("badge"), fresh = doc.getElementById("badge");
        if (now && fresh) { now.replaceWith(fresh); }
      }).catch(function () {});
      if (location.pathname === "/notifications") {
        fetchDoc("/notifications").then(function (doc) {
          var now = $("notification-list"), fresh = doc.getElementById("notification-list");
          if (now && fresh) { now.replaceWith(fresh); localTimes(fresh); if (window.htmx) { window.htmx.process(fresh); } }
        }).catch(function () {});
      }
      if (room && n.eventId === room.id) { refreshStatus(); }
    });
    socket.on("session_ended", function () { socket.disconnect(); location.reload(); });
  }

  function mount() {
    localTimes(document);
    zoneFields(document);
    var form = $("chat-form"), input = $("chat-message");
    if (form) { form.addEventListener("submit", onSubmit); }
    if (input) { input.addEventListener("input", onInput); }
    typers = {};
    var uid = pageData().userId || null;
    if (!uid || !window.io) {
      if (socket) { socket.disconnect(); socket = null; }
      room = null;
      delete document.body.dataset.live;
      return;
    }
    if (socket && uid !== userId) { socket.disconnect(); socket = null; room = null; }
    userId = uid;
    if (!socket) { connect(); } else if (socket.connected) { enterRoom(); }
  }

  document.addEventListener("DOMContentLoaded", mount);
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.target === document.body) { mount(); }
  });
  document.addEventListener("htmx:historyRestore", mount);
}());
