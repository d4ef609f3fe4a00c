// The softphone in the agent's page (issue 16 §2): JsSIP (vendor/jssip.min.js, pinned,
// shipped with the package) registers the agent's own PJSIP endpoint to Asterisk over its
// secure WebSocket with the settings of GET /agent/phone (this agent's only), rings for the
// dialer's call (answers by itself with «Автоответ»), plays the announcement, sends digits
// from the keypad or the keyboard as RFC 4733 events (RTCDTMFSender) and carries the talk.
//
// Unavailable until fixed: the dialer offers calls only to an agent whose endpoint is
// registered (an unregistered PJSIP device is UNAVAILABLE, and the dialer pauses the agent,
// docs/agents.md). So a missing, refused or lost microphone makes the page unregister (it
// stops the SIP client) and say why; a lost WebSocket or a refused registration leaves it
// unregistered by itself. Each shows its message until fixed; «Проверить снова» starts over.
"use strict";
window.AgentPhone = function (deps) {
  const { L, call, byId } = deps;
  const RECOVERY_MIN_S = 2, RECOVERY_MAX_S = 10, REGISTER_RETRY_MS = 30000;
  const phone = {
    settings: null, ua: null, mic: null, session: null, state: "off", error: "",
    registrations: 0, disconnects: 0, sentDigits: "", retryTimer: null, ring: null,
  };
  window.cbdPhone = phone;  // for the browser test: state, figures, RTP statistics

  function show(state) {
    phone.state = state;
    const badge = byId("phone-state");
    badge.textContent = L(`phone_${state}`);
    badge.className = `phone-state ${state}`;
    byId("phone-answer").hidden = state !== "ringing";
    byId("phone-hangup").hidden = state !== "ringing" && state !== "in_call";
  }
  function fail(key, values) {
    phone.error = key;
    byId("phone-error").textContent = key ? L(key, values) : "";
    byId("phone-retry").hidden = !key || key === "phone_ws_lost";
  }

  // ---- start, stop --------------------------------------------------------------------
  async function start() {
    fail(null);
    let settings;
    try { settings = await call("GET", "/agent/phone"); }
    catch (error) { byId("phone").hidden = false; show("unavailable"); fail("phone_settings_failed", { error: error.message }); return; }
    phone.settings = settings;
    byId("phone").hidden = !settings.enabled;
    if (!settings.enabled) { byId("phone-note").textContent = L("phone_not_configured"); return; }
    if (!window.JsSIP) { show("unavailable"); fail("phone_library_missing"); return; }
    show("starting");
    if (!(await microphone())) return;
    register();
  }

  function stop() {
    clearTimeout(phone.retryTimer);
    if (phone.session) { try { phone.session.terminate(); } catch (e) { /* already ended */ } }
    if (phone.ua) { const ua = phone.ua; phone.ua = null; ua.stop(); }  // unregisters, closes
    stopRing();
  }

  // The microphone first: without it the agent must not get calls, so no registration.
  async function microphone() {
    if (phone.mic && phone.mic.getAudioTracks().some((t) => t.readyState === "live")) return true;
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error("getUserMedia"), { name: "NotSupportedError" });
      phone.mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (error) {
      unavailable(error.name === "NotAllowedError" || error.name === "SecurityError" ? "phone_mic_denied"
        : error.name === "NotFoundError" || error.name === "OverconstrainedError" ? "phone_mic_missing" : "phone_mic_failed",
      { error: error.name || String(error) });
      return false;
    }
    for (const track of phone.mic.getAudioTracks()) track.addEventListener("ended", () => unavailable("phone_mic_lost"));
    return true;
  }

  function unavailable(key, values) {
    stop();
    releaseMic();
    show("unavailable");
    fail(key, values);
  }

  function releaseMic() {
    if (phone.mic) for (const track of phone.mic.getTracks()) track.stop();
    phone.mic = null;
  }

  // ---- registration -------------------------------------------------------------------
  function register() {
    if (phone.ua) return;
    const s = phone.settings;
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(s.ws_url)],
      uri: s.uri, authorization_user: s.username, password: s.password,
      register: true, register_expires: 300, session_timers: false,
      connection_recovery_min_interval: RECOVERY_MIN_S, connection_recovery_max_interval: RECOVERY_MAX_S,
      user_agent: "callback-dialer agent page (JsSIP)",
    });
    phone.ua = ua;
    const mine = (handler) => (event) => { if (phone.ua === ua) handler(event); };
    ua.on("connecting", mine(() => { if (phone.state !== "in_call") show("connecting"); }));
    ua.on("connected", mine(() => {
      if (phone.error === "phone_ws_lost") fail(null);
      if (!phone.session) show("registering");
    }));
    ua.on("disconnected", mine(() => {
      phone.disconnects += 1;
      if (!phone.session) show("unavailable");
      fail("phone_ws_lost");  // JsSIP reconnects (2 s, then up to every 10 s) and registers again
    }));
    ua.on("registered", mine(() => {
      phone.registrations += 1;
      clearTimeout(phone.retryTimer);
      if (phone.error === "phone_register_failed" || phone.error === "phone_ws_lost") fail(null);
      if (!phone.session) show("registered");
    }));
    ua.on("unregistered", mine(() => { if (!phone.session) show("unavailable"); }));
    ua.on("registrationFailed", mine((event) => {
      if (!phone.session) show("unavailable");
      if (event.cause === JsSIP.C.causes.CONNECTION_ERROR) { fail("phone_ws_lost"); return; }
      const response = event.response ? `${event.response.status_code} ${event.response.reason_phrase}` : event.cause;
      fail("phone_register_failed", { cause: response });
      clearTimeout(phone.retryTimer);
      phone.retryTimer = setTimeout(() => { if (phone.ua === ua && ua.isConnected()) ua.register(); }, REGISTER_RETRY_MS);
    }));
    ua.on("newRTCSession", mine((event) => { if (event.originator === "remote") incoming(event.session); }));
    show("connecting");
    ua.start();
  }

  // ---- the call -----------------------------------------------------------------------
  function incoming(session) {
    if (phone.session) { session.terminate({ status_code: 486, reason_phrase: "Busy Here" }); return; }
    phone.session = session;
    phone.sentDigits = "";
    byId("phone-sent").textContent = "";
    session.on("peerconnection", (event) => listen(event.peerconnection));
    session.on("accepted", () => { stopRing(); show("in_call"); });
    session.on("confirmed", () => { if (session.connection) listen(session.connection); });
    const over = () => {
      if (phone.session !== session) return;
      phone.session = null; stopRing();
      byId("phone-audio").srcObject = null;
      show(phone.ua && phone.ua.isRegistered() ? "registered" : "unavailable");
    };
    session.on("ended", over);
    session.on("failed", over);
    show("ringing");
    if (byId("phone-auto").checked) answer(); else startRing();
  }

  function listen(connection) {
    const play = () => {
      const tracks = connection.getReceivers().map((r) => r.track).filter((t) => t && t.kind === "audio");
      if (tracks.length) {
        const audio = byId("phone-audio");
        audio.srcObject = new MediaStream(tracks);
        audio.play().catch(() => { /* autoplay refused: the agent's click on «Ответить» allows it */ });
      }
    };
    connection.addEventListener("track", play);
    play();
  }

  async function answer() {
    const session = phone.session;
    if (!session || phone.state !== "ringing") return;
    stopRing();
    if (!(await microphone())) return;  // lost since registration: unavailable, call ended
    session.answer({ mediaStream: phone.mic, pcConfig: { iceServers: [] } });
  }

  function hangup() { if (phone.session) phone.session.terminate(); }

  function digit(key) {
    if (!phone.session || !phone.session.isEstablished()) return false;
    phone.session.sendDTMF(key, { transportType: JsSIP.C.DTMF_TRANSPORT.RFC2833, duration: 160 });
    phone.sentDigits += key;
    byId("phone-sent").textContent = L("phone_sent", { digit: key });
    return true;
  }

  // ---- a ring in the headset, made here (no sound files) -------------------------------
  function startRing() {
    stopRing();
    try {
      const context = new AudioContext();
      const tone = context.createOscillator(), gain = context.createGain();
      tone.frequency.value = 425; gain.gain.value = 0;
      tone.connect(gain).connect(context.destination);
      tone.start();
      let on = false;
      const timer = setInterval(() => { on = !on; gain.gain.value = on ? 0.2 : 0; }, 1000);
      phone.ring = { context, timer };
    } catch (e) { phone.ring = null; }
  }
  function stopRing() {
    if (!phone.ring) return;
    clearInterval(phone.ring.timer);
    phone.ring.context.close();
    phone.ring = null;
  }

  // RTP figures of the call (for the test and for support): packets each way.
  phone.stats = async function () {
    if (!phone.session || !phone.session.connection) return null;
    const report = await phone.session.connection.getStats();
    const out = { sent: 0, received: 0 };
    report.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "audio") out.sent += s.packetsSent || 0;
      if (s.type === "inbound-rtp" && s.kind === "audio") out.received += s.packetsReceived || 0;
    });
    return out;
  };

  // ---- controls -----------------------------------------------------------------------
  const auto = byId("phone-auto");
  auto.checked = localStorage.getItem("cbd-auto-answer") === "1";
  auto.addEventListener("change", () => localStorage.setItem("cbd-auto-answer", auto.checked ? "1" : "0"));
  byId("phone-answer").addEventListener("click", answer);
  byId("phone-hangup").addEventListener("click", hangup);
  byId("phone-retry").addEventListener("click", () => { stop(); releaseMic(); start(); });
  for (const button of document.querySelectorAll("#phone-keypad [data-key]")) {
    button.addEventListener("click", () => digit(button.dataset.key));
  }
  byId("phone-keypad").title = L("phone_keypad");
  document.addEventListener("keydown", (event) => {
    const typing = event.target && event.target.closest && event.target.closest("input, textarea, select");
    if (typing || event.ctrlKey || event.altKey || event.metaKey || !/^[0-9*#]$/.test(event.key)) return;
    if (digit(event.key)) event.preventDefault();
  });
  window.addEventListener("beforeunload", stop);

  // signing out: unregister and let the headset go
  return { start, stop: () => { stop(); releaseMic(); show("off"); fail(null); } };
};
