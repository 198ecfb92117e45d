// The playground: the server's own OpenAI-compatible API, from a browser, with nothing to build or download.
// Speak asks for `pcm` (raw s16le, 24 kHz mono), reads the body as it streams and schedules each piece with Web
// Audio the moment it arrives, so the audio plays while the server is still generating it. "Speak as I type"
// streams the text box over the WebSocket /v1/audio/speech/stream while it is typed (see liveInput below).
"use strict";

const RATE = 24000; // OpenAI's pcm: 24 kHz mono s16le
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "qwen3tts.token";
const state = { model: null, audio: null, controller: null, sources: [] };

function authHeaders(extra = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function apiError(response) {
  let message = `${response.status} ${response.statusText}`;
  let param = null;
  try {
    const body = await response.json();
    if (body.error) {
      message = body.error.message;
      param = body.error.param;
    }
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) message += " (set the API token below)";
  const err = new Error(message);
  err.status = response.status;
  err.param = param;
  return err;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
  if (!response.ok) throw await apiError(response);
  return response.json();
}

function setState(name, text) {
  document.body.dataset.state = name;
  $("state").textContent = text || "";
}

function showError(err) {
  const box = $("error");
  box.textContent = err.param ? `${err.message}` : err.message;
  box.dataset.param = err.param || "";
  box.hidden = false;
  setState("error", "");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// ------------------------------------------------------------------ model, voices, languages
const LANGUAGE_LABEL = (code) => (code === "auto" ? "Auto-detect" : code.charAt(0).toUpperCase() + code.slice(1));
const MODEL_KIND = { custom_voice: "built-in voices", voice_design: "voices from a description", base: "cloned voices" };

async function loadModel() {
  try {
    const models = await api("/v1/models");
    state.model = models.data[0];
  } catch (err) {
    $("model").textContent = err.status === 503 ? "The model is loading… (retrying)" : "Cannot reach the API.";
    if (err.status === 503) setTimeout(loadModel, 2000); else showError(err);
    return;
  }
  const m = state.model;
  $("model").textContent = `${m.id} · ${MODEL_KIND[m.model_type] || m.model_type} · up to ${m.max_input_characters} characters`;
  $("text").maxLength = m.max_input_characters;
  const language = $("language");
  language.replaceChildren(...m.languages.map((code) => new Option(LANGUAGE_LABEL(code), code)));
  language.value = "auto";
  const design = m.model_type === "voice_design";
  $("instructions-field").hidden = !(m.supports_instructions || design);
  $("instructions-label").textContent = design ? "Voice description (required)" : "Instructions (speaking style, optional)";
  if (design) $("instructions").placeholder = "e.g. A calm, low female voice with a slight British accent.";
  $("voice-field").hidden = design;
  $("clone").hidden = !m.supports_voice_cloning;
  if (!design) await loadVoices();
  $("speak").disabled = false;
  setState("idle", "Ready.");
}

async function loadVoices(select) {
  let voices;
  try {
    ({ voices } = await api("/v1/audio/voices"));
  } catch (err) {
    showError(err);
    return;
  }
  const groups = { built_in: "Built-in", registered: "Your voices", alias: "Aliases" };
  const box = $("voice");
  box.replaceChildren();
  for (const [type, title] of Object.entries(groups)) {
    const mine = voices.filter((v) => v.type === type);
    if (!mine.length) continue;
    const group = document.createElement("optgroup");
    group.label = title;
    for (const v of mine) group.append(new Option(type === "alias" ? `${v.id} → ${v.alias_of}` : v.id, v.id));
    box.append(group);
  }
  if (!voices.length) {
    const none = new Option("No voices yet: add one below", "");
    none.disabled = true;
    box.append(none);
  }
  if (select) box.value = select;
  box.dataset.count = String(voices.length);
}

// ------------------------------------------------------------------ speaking
function play(bytes, n, next) {
  // Schedule n samples of s16le right after `next` (on the audio clock); returns where the next piece starts.
  const ctx = state.audio;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  const pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) pcm[i] = view.getInt16(i * 2, true) / 32768;
  const buffer = ctx.createBuffer(1, n, RATE); // the browser resamples to the device's rate
  buffer.copyToChannel(pcm, 0);
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(ctx.destination);
  const at = Math.max(next, ctx.currentTime + 0.05);
  source.start(at);
  state.sources.push(source);
  source.onended = () => state.sources.splice(state.sources.indexOf(source) >>> 0, 1);
  return at + buffer.duration;
}

function showSamples(samples) {
  $("samples").textContent = samples.toLocaleString("en-US");
  document.body.dataset.samples = String(samples);
  $("duration").textContent = `${(samples / RATE).toFixed(2)} s`;
}

function showFirstAudio(ms) {
  $("ttfa").textContent = `${Math.round(ms)} ms`;
  document.body.dataset.ttfaMs = String(Math.round(ms));
}

function silence() {
  for (const source of state.sources.splice(0)) {
    try { source.stop(); } catch (_) { /* already ended */ }
  }
}

function stopPlayback() {
  if (state.controller) state.controller.abort();
  state.controller = null;
  silence();
  $("stop").disabled = true;
}

function wav(chunks, samples) {
  // A WAV file (16-bit PCM, 24 kHz mono) of what was received, for the download link.
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, s) => [...s].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); header.setUint32(4, 36 + samples * 2, true); text(8, "WAVE"); text(12, "fmt ");
  header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
  header.setUint32(24, RATE, true); header.setUint32(28, RATE * 2, true); header.setUint16(32, 2, true);
  header.setUint16(34, 16, true); text(36, "data"); header.setUint32(40, samples * 2, true);
  return new Blob([header, ...chunks], { type: "audio/wav" });
}

function resetStats() {
  $("ttfa").textContent = "–";
  $("samples").textContent = "0";
  $("duration").textContent = "–";
  $("seed").textContent = "–";
  $("request-id").textContent = "–";
  document.body.dataset.samples = "0";
  delete document.body.dataset.ttfaMs;
  const link = $("download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.hidden = true;
}

function requestFields() {
  // The request's fields as the form sets them (the same for POST /v1/audio/speech and session.config).
  const body = { model: state.model.id, response_format: "pcm", speed: Number($("speed").value) };
  if (!$("voice-field").hidden && $("voice").value) body.voice = $("voice").value;
  if ($("language").value !== "auto") body.language = $("language").value;
  if (!$("instructions-field").hidden && $("instructions").value.trim()) body.instructions = $("instructions").value;
  return body;
}

async function audioOn() {
  state.audio = state.audio || new AudioContext({ latencyHint: "interactive" });
  await state.audio.resume();
}

async function speak() {
  if ($("live").checked) return endTurn();
  stopPlayback();
  clearError();
  resetStats();
  const body = { ...requestFields(), input: $("text").value };
  await audioOn();
  const controller = (state.controller = new AbortController());
  $("speak").disabled = true;
  $("stop").disabled = false;
  setState("waiting", "Waiting for the first audio…");
  const t0 = performance.now();
  let samples = 0;
  const received = [];
  try {
    const response = await fetch("/v1/audio/speech", {
      method: "POST", body: JSON.stringify(body), signal: controller.signal,
      headers: authHeaders({ "Content-Type": "application/json" }),
    });
    if (!response.ok) throw await apiError(response);
    $("seed").textContent = response.headers.get("x-seed") || "–";
    $("request-id").textContent = response.headers.get("x-request-id") || "–";
    const reader = response.body.getReader();
    let carry = null; // an odd byte left over from the previous piece (a sample split across reads)
    let next = 0; // when the next piece starts, on the audio clock
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let bytes = value;
      if (carry !== null) {
        bytes = new Uint8Array(value.length + 1);
        bytes[0] = carry;
        bytes.set(value, 1);
        carry = null;
      }
      if (bytes.length % 2) carry = bytes[bytes.length - 1];
      const n = bytes.length >> 1;
      if (!n) continue;
      if (!samples) {
        showFirstAudio(performance.now() - t0);
        setState("streaming", "Playing while it is generated…");
      }
      next = play(bytes, n, next);
      received.push(bytes.slice(0, n * 2));
      samples += n;
      showSamples(samples);
    }
    const link = $("download");
    link.href = URL.createObjectURL(wav(received, samples));
    link.hidden = false;
    setState("done", `Done: ${(samples / RATE).toFixed(2)} s of audio.`);
  } catch (err) {
    if (err.name === "AbortError") setState("stopped", "Stopped.");
    else showError(err);
  } finally {
    if (state.controller === controller) state.controller = null;
    $("speak").disabled = false;
    $("stop").disabled = true;
  }
}

// ------------------------------------------------------------------ speak as I type (WebSocket)
// The text box streams to /v1/audio/speech/stream while it is typed: the characters typed since the last send go
// out as `input_text.append` once a word is complete (a space or a pause ends it: a typo fixed inside the word
// being typed is never sent), and the server speaks each sentence as soon as it is surely complete, or after a
// pause. Speak (Ctrl+Enter) ends the turn (`input_text.end`: speak the rest); Stop is a barge-in
// (`response.cancel`): the audio stops here at once and on the server at its next step. After `turn.done` the next
// characters start a new turn on the same socket. One socket per session; it is reopened when needed.
const WORD_PAUSE_MS = 400; // a word still being typed is sent after this pause
const live = {
  ws: null, ready: false, // the socket, and whether its session.started came
  sent: "", // the text box's prefix that was sent
  turn: "idle", // idle | open (text sent) | ending (input_text.end sent, turn.done awaited)
  dropping: false, // a cancel was sent: audio until its turn.done belongs to the cut turn
  pause: null, next: 0, t0: 0, samples: 0, received: [],
};

function socketUrl() {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/audio/speech/stream`;
}

function connectLive() {
  if (live.ws || !state.model) return;
  clearError();
  const token = localStorage.getItem(TOKEN_KEY);
  // Browsers cannot set a WebSocket's Authorization header: the token goes in session.config, never in the URL.
  const config = { type: "session.config", ...requestFields(), ...(token ? { token } : {}) };
  const ws = (live.ws = new WebSocket(socketUrl()));
  ws.binaryType = "arraybuffer";
  document.body.dataset.live = "connecting";
  setState("connecting", "Opening a session…");
  ws.onopen = () => ws.send(JSON.stringify(config));
  ws.onmessage = (e) => (live.ws === ws ? onLiveMessage(e.data) : undefined);
  ws.onclose = (e) => (live.ws === ws ? onLiveClose(e) : undefined);
}

function closeLive() {
  const ws = live.ws;
  live.ws = null;
  live.ready = false;
  live.turn = "idle";
  clearTimeout(live.pause);
  if (ws) ws.close(1000, "done");
  document.body.dataset.live = "closed";
}

function sendLive(message) {
  live.ws.send(JSON.stringify(message));
}

function pushText(force = false) {
  // Send what was typed since the last send: whole words only, unless `force` (a pause, the end of the turn).
  if (!live.ws) return connectLive();
  if (!live.ready || live.turn === "ending") return; // sent after session.started / the turn's turn.done
  const value = $("text").value;
  let common = 0; // an edit before the end: what was sent was sent (it may be spoken already)
  while (common < live.sent.length && common < value.length && live.sent[common] === value[common]) common++;
  live.sent = live.sent.slice(0, common);
  let end = value.length;
  if (!force) {
    const lastSpace = Math.max(value.lastIndexOf(" "), value.lastIndexOf("\n"));
    end = lastSpace + 1 > common ? lastSpace + 1 : common;
  }
  const delta = value.slice(common, end);
  if (!delta) return;
  if (live.turn === "idle") startTurn();
  sendLive({ type: "input_text.append", text: delta });
  live.sent = value.slice(0, end);
}

function startTurn() {
  live.turn = "open";
  live.t0 = performance.now();
  live.samples = 0;
  live.received = [];
  live.next = 0;
  resetStats();
  $("seed").textContent = live.seed || "–";
  $("request-id").textContent = live.requestId || "–";
  $("stop").disabled = false;
  setState("listening", "Listening… each sentence is spoken once it is complete.");
}

function liveInput() {
  clearTimeout(live.pause);
  pushText();
  live.pause = setTimeout(() => pushText(true), WORD_PAUSE_MS);
}

async function endTurn() {
  await audioOn();
  clearTimeout(live.pause);
  pushText(true);
  if (live.turn !== "open" || !live.ready) return;
  sendLive({ type: "input_text.end" });
  live.turn = "ending";
  setState("finishing", "Speaking the rest…");
}

function cancelTurn() {
  silence();
  clearTimeout(live.pause);
  live.sent = $("text").value; // what was typed so far belongs to the turn being cut, sent or not
  if (!live.ws || !live.ready || live.turn === "idle") return;
  sendLive({ type: "response.cancel" });
  live.dropping = true;
  live.turn = "idle"; // the server takes the next turn's text at once after a cancel
  setState("stopping", "Stopping…");
}

function onLiveMessage(data) {
  if (typeof data !== "string") {
    if (live.dropping || !state.audio) return;
    const bytes = new Uint8Array(data);
    const n = bytes.length >> 1;
    if (!n) return;
    if (!live.samples) {
      showFirstAudio(performance.now() - live.t0);
      document.body.dataset.firstAudioAt = String(performance.now());
      setState("streaming", "Speaking while you type…");
    }
    live.next = play(bytes, n, live.next);
    live.received.push(bytes.slice(0, n * 2));
    live.samples += n;
    showSamples(live.samples);
    return;
  }
  const event = JSON.parse(data);
  switch (event.type) {
    case "session.started":
      live.ready = true;
      live.seed = String(event.seed);
      live.requestId = event.request_id;
      $("seed").textContent = live.seed;
      $("request-id").textContent = live.requestId;
      document.body.dataset.live = "open";
      setState("idle", "Session open: start typing.");
      pushText();
      break;
    case "segment":
      $("now").hidden = false;
      $("now-text").textContent = event.text;
      break;
    case "turn.done": {
      const cut = event.cancelled;
      live.turn = "idle";
      live.dropping = false;
      $("now").hidden = true;
      $("stop").disabled = true;
      document.body.dataset.turns = String(Number(document.body.dataset.turns || 0) + 1);
      if (live.samples) {
        const link = $("download");
        if (link.href) URL.revokeObjectURL(link.href);
        link.href = URL.createObjectURL(wav(live.received, live.samples));
        link.hidden = false;
      }
      if (cut) setState("stopped", "Stopped. Keep typing for the next turn.");
      else setState("done", `Done: ${event.usage.audio_seconds.toFixed(2)} s of audio. Keep typing for the next turn.`);
      pushText(); // what was typed while the turn was finishing starts the next one
      break;
    }
    case "error":
      showError({ message: event.error.message, param: event.error.param });
      break;
    default: // an event this page does not know: ignore it
  }
}

function onLiveClose(event) {
  const wasReady = live.ready;
  live.ws = null;
  live.ready = false;
  live.turn = "idle";
  document.body.dataset.live = "closed";
  $("now").hidden = true;
  $("stop").disabled = true;
  if (!$("live").checked || document.body.dataset.state === "error") return;
  if (event.code === 4504) setState("idle", "The session was idle and has closed: type to open a new one.");
  else if (!wasReady) showError({ message: `Cannot open a session (WebSocket closed: ${event.code} ${event.reason})` });
  else setState("idle", "The session has closed: type to open a new one.");
}

async function toggleLive() {
  const on = $("live").checked;
  document.body.classList.toggle("live", on);
  $("live-hint").hidden = !on;
  $("speak").textContent = on ? "▶ Speak the rest" : "▶ Speak";
  $("ttfa-label").textContent = on ? "First audio (from the first key)" : "Time to first audio";
  stopPlayback();
  resetStats();
  clearError();
  if (on) {
    await audioOn(); // a click: the browser lets the page play sound from now on
    $("text").value = "";
    $("text").placeholder = "Type here: it is spoken as you type.";
    $("text").dispatchEvent(new Event("input"));
    live.sent = "";
    connectLive();
    $("text").focus();
  } else {
    closeLive();
    $("text").placeholder = "";
    setState("idle", "Ready.");
  }
}

// ------------------------------------------------------------------ voice cloning (Base checkpoints)
async function addVoice(event) {
  event.preventDefault();
  const form = new FormData($("clone-form"));
  if (!$("clone-xvec").checked) form.delete("x_vector_only");
  if (!form.get("reference_text")) form.delete("reference_text");
  $("clone-state").textContent = "Cloning…";
  clearError();
  try {
    const voice = await api("/v1/audio/voices", { method: "POST", body: form });
    $("clone-state").textContent = `Added ${voice.id}.`;
    await loadVoices(voice.id);
  } catch (err) {
    $("clone-state").textContent = "";
    showError(err);
  }
}

// ------------------------------------------------------------------ wiring
function init() {
  const text = $("text");
  const count = () => ($("chars").textContent = text.value.length);
  text.addEventListener("input", count);
  text.addEventListener("input", () => $("live").checked && liveInput());
  count();
  $("speed").addEventListener("input", () => ($("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`));
  $("speak").addEventListener("click", speak);
  $("stop").addEventListener("click", () => ($("live").checked ? cancelTurn() : stopPlayback()));
  $("live").addEventListener("change", toggleLive);
  // a new voice, language, speed or style applies from the next session: close this one (reopened on typing)
  for (const id of ["voice", "language", "speed", "instructions"]) {
    $(id).addEventListener("change", () => $("live").checked && live.ws && closeLive());
  }
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("speak").disabled) speak();
  });
  $("clone-form").addEventListener("submit", addVoice);
  const token = $("token");
  token.value = localStorage.getItem(TOKEN_KEY) || "";
  token.addEventListener("change", () => {
    if (token.value.trim()) localStorage.setItem(TOKEN_KEY, token.value.trim());
    else localStorage.removeItem(TOKEN_KEY);
    closeLive();
    loadModel();
  });
  setState("loading", "");
  loadModel();
}

init();
