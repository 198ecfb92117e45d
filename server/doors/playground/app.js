// The playground: the server's own OpenAI-compatible API, from a browser, with nothing to build or download.
// Speak asks for `pcm` (raw s16le, 24 kHz mono), reads the body as it streams and schedules each piece with Web
// Audio the moment it arrives, so the audio plays while the server is still generating it.
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
function stopPlayback() {
  if (state.controller) state.controller.abort();
  state.controller = null;
  for (const source of state.sources) {
    try { source.stop(); } catch (_) { /* already ended */ }
  }
  state.sources = [];
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

async function speak() {
  stopPlayback();
  clearError();
  resetStats();
  const m = state.model;
  const body = { model: m.id, input: $("text").value, response_format: "pcm", speed: Number($("speed").value) };
  if (!$("voice-field").hidden && $("voice").value) body.voice = $("voice").value;
  if ($("language").value !== "auto") body.language = $("language").value;
  if (!$("instructions-field").hidden && $("instructions").value.trim()) body.instructions = $("instructions").value;

  state.audio = state.audio || new AudioContext({ latencyHint: "interactive" });
  const ctx = state.audio;
  await ctx.resume();
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
        const ttfa = performance.now() - t0;
        $("ttfa").textContent = `${Math.round(ttfa)} ms`;
        document.body.dataset.ttfaMs = String(Math.round(ttfa));
        setState("streaming", "Playing while it is generated…");
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
      const pcm = new Float32Array(n);
      for (let i = 0; i < n; i++) pcm[i] = view.getInt16(i * 2, true) / 32768;
      const buffer = ctx.createBuffer(1, n, RATE); // the browser resamples to the device's rate
      buffer.copyToChannel(pcm, 0);
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      next = Math.max(next, ctx.currentTime + 0.05);
      source.start(next);
      next += buffer.duration;
      state.sources.push(source);
      received.push(bytes.slice(0, n * 2));
      samples += n;
      $("samples").textContent = samples.toLocaleString("en-US");
      document.body.dataset.samples = String(samples);
      $("duration").textContent = `${(samples / RATE).toFixed(2)} s`;
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
  count();
  $("speed").addEventListener("input", () => ($("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`));
  $("speak").addEventListener("click", speak);
  $("stop").addEventListener("click", stopPlayback);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("speak").disabled) speak();
  });
  $("clone-form").addEventListener("submit", addVoice);
  const token = $("token");
  token.value = localStorage.getItem(TOKEN_KEY) || "";
  token.addEventListener("change", () => {
    if (token.value.trim()) localStorage.setItem(TOKEN_KEY, token.value.trim());
    else localStorage.removeItem(TOKEN_KEY);
    loadModel();
  });
  setState("loading", "");
  loadModel();
}

init();
