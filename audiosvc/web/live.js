// "#/live": the microphone to live captions, or a conversation with the voice bot, over the
// service's Realtime WebSocket (/openai/v1/realtime) in the protocol OpenAI's clients speak.
import { getConfig, getKey } from "./api.js";
import { announce, h } from "./dom.js";
import { createFramer, floatToPcm16Base64, pcm16Base64ToFloat } from "./pcm.js";

const RATE = 24000; // the protocol's PCM rate: the audio context runs at it
const FRAME = RATE / 10; // 100 ms of audio per append

export function mountLive(main) {
  const languages = getConfig().languages || [];
  const status = h("p", { id: "live-status", class: "muted" }, "Not listening.");
  const error = h("div", { id: "live-error", class: "alert", role: "alert", hidden: true });
  const turns = h("ol", { id: "live-turns", class: "live-turns", "aria-label": "What was said" });
  const heard = h("div", { class: "sr-only", "aria-live": "polite", id: "live-heard" });
  const captions = h("button", { type: "button", id: "live-captions", class: "button primary" }, "Start live captions");
  const talk = h("button", { type: "button", id: "live-talk", class: "button" }, "Talk to the bot");
  const stop = h("button", { type: "button", id: "live-stop", class: "button", hidden: true }, "Stop");
  const language = h("select", { id: "live-language" },
    h("option", { value: "" }, "Detect automatically"),
    ...languages.map((l) => h("option", { value: l.code }, l.name)));
  const root = h("section", { class: "live" },
    h("h1", {}, "Live"),
    h("p", { class: "lede" }, "Speak and watch the words appear as you say them, or talk to the bot: it answers each thing you say, aloud. Stop talking for half a second and your turn ends."),
    h("div", { class: "card live-card" },
      h("div", { class: "live-controls" },
        captions, talk, stop,
        h("label", { class: "live-language", for: "live-language" }, "Spoken language ", language)),
      status, error, turns, heard));
  main.replaceChildren(root);
  document.body.dataset.liveState = "stopped";

  let live = null;

  function setState(state, text) {
    document.body.dataset.liveState = state;
    status.textContent = text;
    const on = state !== "stopped";
    captions.hidden = on;
    talk.hidden = on;
    stop.hidden = !on;
    language.disabled = on;
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  async function begin(withBot) {
    showError("");
    setState("starting", "Asking for the microphone…");
    try {
      live = await startSession({ withBot, language: language.value, turns, heard, onState: setState, onError: showError });
      stop.focus();
    } catch (err) {
      setState("stopped", "Not listening.");
      showError(err && err.name === "NotAllowedError"
        ? "The browser did not allow the microphone. Allow it for this page and try again."
        : `Could not start: ${(err && err.message) || err}`);
    }
  }

  captions.addEventListener("click", () => begin(false));
  talk.addEventListener("click", () => begin(true));
  stop.addEventListener("click", () => {
    if (live) live.stop();
    live = null;
    setState("stopped", "Stopped.");
    captions.focus();
  });

  return {
    root,
    destroy() { if (live) live.stop(); live = null; delete document.body.dataset.liveState; },
  };
}

async function startSession({ withBot, language, turns, heard, onState, onError }) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const ctx = new AudioContext({ sampleRate: RATE });
  await ctx.audioWorklet.addModule("/app/mic-worklet.js");
  const source = ctx.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(ctx, "mic-capture");
  const mute = ctx.createGain();
  mute.gain.value = 0; // the worklet must be pulled by the graph, but nothing is heard
  source.connect(capture).connect(mute).connect(ctx.destination);

  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = withBot ? "model=audiosvc-voice" : "intent=transcription";
  const protocols = ["realtime"];
  if (getKey()) protocols.push(`openai-insecure-api-key.${getKey()}`);
  const ws = new WebSocket(`${scheme}//${location.host}/openai/v1/realtime?${query}`, protocols);

  const player = createPlayer(ctx, turns);
  const userTurns = new Map(); // item id → its element
  const botTurns = new Map(); // response id → its element
  let stopped = false;

  const send = (event) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(event)); };
  const framer = createFramer(FRAME, (frame) => send({ type: "input_audio_buffer.append", audio: floatToPcm16Base64(frame) }));

  ws.addEventListener("open", () => {
    const input = {
      format: { type: "audio/pcm", rate: RATE },
      turn_detection: { type: "server_vad", silence_duration_ms: 500 },
      transcription: language ? { language } : {},
    };
    const session = { type: withBot ? "realtime" : "transcription", audio: { input } };
    if (withBot) session.audio.output = { format: { type: "audio/pcm", rate: RATE } };
    send({ type: "session.update", session });
    capture.port.onmessage = (e) => framer(e.data);
    onState("listening", withBot ? "Listening. Say something to the bot." : "Listening. Speak, and your words appear below.");
  });
  ws.addEventListener("close", (e) => {
    if (stopped) return;
    cleanup();
    onState("stopped", "Not listening.");
    onError(e.code === 1000 && e.reason ? `The session ended: ${e.reason}.`
      : e.code === 1013 ? "The server is busy with other live sessions; try again in a moment."
      : "The connection to the service was lost (or the API key was not accepted).");
  });
  ws.addEventListener("message", (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    handle(ev);
  });

  function turnFor(map, id, who, cls) {
    let li = map.get(id);
    if (!li) {
      li = h("li", { class: `turn ${cls} partial`, "data-id": id },
        h("span", { class: "who" }, who), h("span", { class: "said" }, ""));
      map.set(id, li);
      turns.append(li);
      li.scrollIntoView({ block: "nearest" });
    }
    return li;
  }

  function handle(ev) {
    switch (ev.type) {
      case "input_audio_buffer.speech_started":
        if (withBot) player.interrupt(send);
        turnFor(userTurns, ev.item_id, "You", "user");
        break;
      case "conversation.item.input_audio_transcription.delta":
        turnFor(userTurns, ev.item_id, "You", "user").querySelector(".said").textContent += ev.delta;
        break;
      case "conversation.item.input_audio_transcription.completed": {
        const li = turnFor(userTurns, ev.item_id, "You", "user");
        li.querySelector(".said").textContent = ev.transcript;
        li.classList.replace("partial", "final");
        if (!ev.transcript) li.remove();
        else heard.textContent = ev.transcript;
        break;
      }
      case "response.created":
        turnFor(botTurns, ev.response.id, "Bot", "bot");
        break;
      case "response.output_audio_transcript.delta":
        turnFor(botTurns, ev.response_id, "Bot", "bot").querySelector(".said").textContent += ev.delta;
        break;
      case "response.output_audio.delta":
        player.play(ev.item_id, pcm16Base64ToFloat(ev.delta));
        break;
      case "response.done": {
        const li = turnFor(botTurns, ev.response.id, "Bot", "bot");
        li.classList.replace("partial", "final");
        const said = li.querySelector(".said").textContent;
        if (ev.response.status === "cancelled" && !said) li.remove(); // cut off before a word
        else if (ev.response.status === "cancelled") li.append(h("span", { class: "muted" }, " (interrupted)"));
        else announce(said);
        break;
      }
      case "error":
        onError(ev.error.message);
        break;
      default:
    }
  }

  function cleanup() {
    stopped = true;
    capture.port.onmessage = null;
    for (const track of stream.getTracks()) track.stop();
    player.stop();
    ctx.close().catch(() => {});
  }

  return {
    stop() {
      if (stopped) return;
      cleanup();
      ws.close(1000, "stopped");
    },
  };
}

/** The bot's audio, played gap-free as it arrives; stopped at once when the user speaks. */
function createPlayer(ctx, turns) {
  let next = 0;
  let sources = [];
  let item = null;
  let startedAt = 0;
  let received = 0;
  return {
    play(itemId, samples) {
      if (itemId !== item) { item = itemId; startedAt = Math.max(ctx.currentTime, next); }
      const buffer = ctx.createBuffer(1, samples.length, ctx.sampleRate);
      buffer.copyToChannel(samples, 0);
      const node = ctx.createBufferSource();
      node.buffer = buffer;
      node.connect(ctx.destination);
      next = Math.max(ctx.currentTime, next);
      node.start(next);
      next += buffer.duration;
      sources.push(node);
      node.onended = () => { sources = sources.filter((s) => s !== node); };
      received += Math.round(buffer.duration * 1000);
      turns.dataset.botAudioMs = String(received);
    },
    interrupt(send) {
      if (!sources.length || !item) return;
      const played = Math.max(0, Math.round((ctx.currentTime - startedAt) * 1000));
      this.stop();
      send({ type: "conversation.item.truncate", item_id: item, content_index: 0, audio_end_ms: played });
    },
    stop() {
      for (const s of sources) { try { s.stop(); } catch { /* already ended */ } }
      sources = [];
      next = 0;
    },
  };
}
