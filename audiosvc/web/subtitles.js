// The subtitles of a finished job: the cue list with its checks, the captions over the
// player (a <track> for video, a caption box for audio).
//
// Built for long files (a 3-hour job has ~5,000 cues): each cue is checked once when the
// subtitles load; the list itself is built only when the Subtitles tab is first shown, a
// block of BLOCK rows at a time between frames (never one long task), and each block is
// skipped by the browser while off screen (content-visibility on a block of div rows: a
// table row can't be skipped). A reload (after a speaker rename) fetches in the background
// and replaces only the blocks whose rows changed.
import { blobUrl, getKey, getText } from "./api.js";
import { cueAt, cueIssues, parseSubtitles } from "./cues.js";
import { charCount, escapeHtml, formatCueTime, formatSeconds } from "./format.js";

const BLOCK = 100;
const SLICE_MS = 8; // building blocks stops after this long, and goes on at the next task

function withVersion(url, version) {
  if (!version) return url;
  return `${url}${url.includes("?") ? "&" : "?"}v=${version}`;
}

/**
 * opts: { job, limits, player (media element or null), video: bool, caption (box for audio),
 *         wrap (container of the list), summary, onlyProblems (checkbox), srclang, seek(t),
 *         onError(err, title) }
 * Returns { tick(t), show(), reload(), cues, destroy() }: call show() when the list is first
 * shown (the list is built then).
 */
export function mountSubtitles(opts) {
  const { job, limits, wrap, summary } = opts;
  let cues = [];
  let issues = []; // per cue: cueIssues(cue), computed once per load
  let loaded = false;
  let shown = false; // show() was called: the list is wanted
  let activeCue = -1;
  let activeRow = null;
  let lastT = -1;
  let trackUrl = null;
  let version = 0;
  let loadSeq = 0; // the newest load() started; an older one's answer is dropped
  let renderSeq = 0; // the newest build of the list; an older one stops
  let destroyed = false;
  let table = null; // #cues
  let blocks = []; // block elements, BLOCK rows each
  let blockHtml = []; // the HTML each block was built from (to skip unchanged ones)

  function rowHtml(k) {
    const cue = cues[k];
    const iss = issues[k];
    const over = iss.length > 0;
    const d = cue.end - cue.start;
    const longLines = new Set(iss.filter((i) => i.kind === "line").map((i) => i.line));
    const lines = cue.lines.map((line, i) => {
      const bad = longLines.has(i);
      const n = charCount(line);
      return `<div class="cue-line${bad ? " over" : ""}"><span class="cue-text">${escapeHtml(line)}</span><span class="cue-count${bad ? " over" : ""}">${n}<span class="sr-only"> characters</span></span></div>`;
    }).join("");
    const flags = over
      ? iss.map((i) => `<span class="flag">⚠ ${escapeHtml(i.text)}</span>`).join("")
      : '<span class="ok">✓ <span class="sr-only">Within limits</span></span>';
    const durOver = iss.some((i) => i.kind === "long" || i.kind === "short");
    return `<div class="cue${over ? " over" : ""}" role="row" data-cue="${k}" aria-rowindex="${k + 2}">`
      + `<div class="cue-cell num cue-index" role="cell">${cue.index}</div>`
      + `<div class="cue-cell cue-time" role="cell"><button type="button" class="ts" data-t="${cue.start}" aria-label="Play cue ${cue.index} from ${formatCueTime(cue.start)}">${formatCueTime(cue.start)}</button><span class="cue-end muted"> – ${formatCueTime(cue.end)}</span></div>`
      + `<div class="cue-cell num cue-dur${durOver ? " over" : ""}" role="cell">${formatSeconds(d)}</div>`
      + `<div class="cue-cell cue-lines" role="cell">${lines}</div>`
      + `<div class="cue-cell cue-flags" role="cell">${flags}</div></div>`;
  }

  function renderSummary() {
    const bad = issues.reduce((n, iss) => n + (iss.length ? 1 : 0), 0);
    summary.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = `${cues.length} cue${cues.length === 1 ? "" : "s"}`;
    summary.append(strong, ` · ${bad ? `${bad} need${bad === 1 ? "s" : ""} attention` : "all within the limits ✓"}. `
      + `Limits: ${limits.max_line_chars} characters per line, ${limits.max_lines} line${limits.max_lines === 1 ? "" : "s"}, `
      + `${limits.min_cue_seconds}–${limits.max_cue_seconds} s per cue.`);
  }

  function renderShell() {
    wrap.innerHTML = `<div id="cues" class="cues${opts.onlyProblems?.checked ? " only-problems" : ""}" role="table" aria-label="Subtitle cues with their timing, lines and character counts" aria-rowcount="${cues.length + 1}">`
      + '<div class="cue-thead" role="rowgroup"><div class="cue-head-row" role="row" aria-rowindex="1">'
      + '<div class="cue-cell num" role="columnheader">#</div><div class="cue-cell" role="columnheader">Time</div>'
      + '<div class="cue-cell num" role="columnheader">Length</div>'
      + '<div class="cue-cell" role="columnheader">Lines <span class="muted">(characters)</span></div>'
      + '<div class="cue-cell" role="columnheader">Check</div></div></div></div>';
    if (!cues.length) wrap.insertAdjacentHTML("beforeend", '<p class="empty">No subtitles: nothing was said.</p>');
    table = wrap.firstElementChild;
    blocks = [];
    blockHtml = [];
  }

  function buildBlock(b) {
    const from = b * BLOCK;
    const to = Math.min(cues.length, from + BLOCK);
    const parts = [];
    let bad = 0;
    for (let k = from; k < to; k++) {
      parts.push(rowHtml(k));
      if (issues[k].length) bad += 1;
    }
    const html = parts.join("");
    let el = blocks[b];
    if (el && blockHtml[b] === html) return;
    if (!el) {
      el = document.createElement("div");
      el.className = "cue-block";
      el.setAttribute("role", "rowgroup");
      table.append(el);
      blocks[b] = el;
    }
    el.innerHTML = html;
    blockHtml[b] = html;
    // sizes of a skipped block (CSSOM, allowed by the page's style policy)
    el.style.setProperty("--rows", String(to - from));
    el.style.setProperty("--over-rows", String(bad));
    el.classList.toggle("has-over", bad > 0);
    if (activeCue >= from && activeCue < to) { activeRow = null; activeCue = -1; }
  }

  /** Build (or bring up to date) every block, a slice at a time. */
  function renderList() {
    const seq = ++renderSeq;
    if (!table || !table.isConnected || !cues.length || !blocks.length) renderShell();
    table.setAttribute("aria-rowcount", String(cues.length + 1));
    const count = Math.ceil(cues.length / BLOCK);
    let b = 0;
    const step = () => {
      if (destroyed || seq !== renderSeq) return;
      const t0 = performance.now();
      do {
        buildBlock(b);
        b += 1;
      } while (b < count && performance.now() - t0 < SLICE_MS);
      if (b < count) { setTimeout(step, 0); return; }
      for (const el of blocks.splice(count)) el.remove();
      blockHtml.length = count;
      table.dataset.complete = "true";
      if (lastT >= 0) tick(lastT);
    };
    delete table.dataset.complete;
    if (count) step(); // the first slice now: the top of the list shows at once
    else table.dataset.complete = "true";
  }

  wrap.addEventListener("click", (e) => {
    const ts = e.target.closest(".ts");
    if (ts) opts.seek(Number(ts.dataset.t));
  });
  opts.onlyProblems?.addEventListener("change", () => {
    table?.classList.toggle("only-problems", opts.onlyProblems.checked);
  });

  async function loadTrack(seq) {
    const player = opts.player;
    if (!opts.video || !player || !job.links.transcript_vtt) return;
    const url = withVersion(job.links.transcript_vtt, version);
    let src = url;
    if (getKey()) {
      src = await blobUrl(url);
      if (destroyed || seq !== loadSeq) { URL.revokeObjectURL(src); return; }
      if (trackUrl) URL.revokeObjectURL(trackUrl);
      trackUrl = src;
    }
    if (destroyed || seq !== loadSeq) return;
    for (const t of player.querySelectorAll("track")) t.remove();
    const track = document.createElement("track");
    track.kind = "subtitles";
    track.srclang = opts.srclang || "en";
    track.label = "Subtitles";
    track.default = true;
    track.src = src;
    track.addEventListener("error", () => {}, { once: true });
    player.append(track);
    if (track.track) track.track.mode = "showing";
  }

  async function load() {
    const seq = ++loadSeq;
    try {
      const text = await getText(withVersion(job.links.transcript_srt, version));
      if (destroyed || seq !== loadSeq) return;
      cues = parseSubtitles(text);
      issues = cues.map((c) => cueIssues(c, limits));
      loaded = true;
      activeCue = -1;
      activeRow = null;
      renderSummary();
      if (shown) renderList();
      if (lastT >= 0) tick(lastT);
    } catch (err) {
      if (!destroyed && seq === loadSeq) {
        wrap.textContent = "";
        table = null;
        opts.onError(err, "Could not load the subtitles");
      }
    }
    try { await loadTrack(seq); } catch (err) { if (!destroyed && seq === loadSeq) opts.onError(err, "Could not load the subtitles for the video"); }
  }

  function rowOf(k) {
    const block = blocks[Math.floor(k / BLOCK)];
    return block ? block.children[k % BLOCK] || null : null;
  }

  function tick(t) {
    lastT = t;
    const k = cues.length ? cueAt(cues, t) : -1;
    if (k === activeCue && (k < 0 || activeRow?.isConnected || !rowOf(k))) return;
    activeCue = k;
    if (activeRow) activeRow.classList.remove("active");
    activeRow = k >= 0 ? rowOf(k) : null;
    if (activeRow) activeRow.classList.add("active");
    if (!opts.video && opts.caption) {
      const box = opts.caption;
      box.replaceChildren();
      if (k >= 0) {
        for (const line of cues[k].lines) {
          const div = document.createElement("div");
          div.textContent = line;
          box.append(div);
        }
      }
      box.classList.toggle("empty", k < 0);
    }
  }

  load();
  return {
    tick,
    /** The list is shown: build it (once; later loads keep it up to date). */
    show() {
      if (shown || destroyed) return;
      shown = true;
      if (loaded) renderList();
    },
    reload() { version += 1; return load(); },
    get cues() { return cues; },
    destroy() {
      destroyed = true;
      renderSeq += 1;
      if (trackUrl) URL.revokeObjectURL(trackUrl);
      trackUrl = null;
    },
  };
}
