// The subtitles of a finished job: the cue table with its checks, the captions over the
// player (a <track> for video, a caption box for audio).
import { blobUrl, getKey, getText } from "./api.js";
import { cueAt, cueIssues, parseSubtitles } from "./cues.js";
import { charCount, escapeHtml, formatCueTime, formatSeconds } from "./format.js";

/**
 * opts: { job, limits, player (media element or null), video: bool, caption (box for audio),
 *         wrap (container of the table), summary, onlyProblems (checkbox), srclang, seek(t),
 *         onError(err, title) }
 */
export function mountSubtitles(opts) {
  const { job, limits, wrap, summary } = opts;
  let cues = [];
  let activeCue = -1;
  let activeRow = null;
  let trackUrl = null;
  let version = 0;
  let destroyed = false;

  function rowHtml(cue, k) {
    const issues = cueIssues(cue, limits);
    const over = issues.length > 0;
    const d = cue.end - cue.start;
    const longLines = new Set(issues.filter((i) => i.kind === "line").map((i) => i.line));
    const lines = cue.lines.map((line, i) => {
      const bad = longLines.has(i);
      return `<div class="cue-line${bad ? " over" : ""}"><span class="cue-text">${escapeHtml(line)}</span><span class="cue-count${bad ? " over" : ""}" aria-label="${charCount(line)} characters">${charCount(line)}</span></div>`;
    }).join("");
    const flags = over
      ? issues.map((i) => `<span class="flag">⚠ ${escapeHtml(i.text)}</span>`).join("")
      : '<span class="ok">✓ <span class="sr-only">Within limits</span></span>';
    const durOver = issues.some((i) => i.kind === "long" || i.kind === "short");
    return `<tr class="cue${over ? " over" : ""}" data-cue="${k}">`
      + `<td class="num cue-index">${cue.index}</td>`
      + `<td class="cue-time"><button type="button" class="ts" data-t="${cue.start}" aria-label="Play cue ${cue.index} from ${formatCueTime(cue.start)}">${formatCueTime(cue.start)}</button><span class="cue-end muted"> – ${formatCueTime(cue.end)}</span></td>`
      + `<td class="num cue-dur${durOver ? " over" : ""}">${formatSeconds(d)}</td>`
      + `<td class="cue-lines">${lines}</td>`
      + `<td class="cue-flags">${flags}</td></tr>`;
  }

  function render() {
    const bad = cues.reduce((n, c) => n + (cueIssues(c, limits).length ? 1 : 0), 0);
    summary.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = `${cues.length} cue${cues.length === 1 ? "" : "s"}`;
    summary.append(strong, ` · ${bad ? `${bad} need${bad === 1 ? "s" : ""} attention` : "all within the limits ✓"}. `
      + `Limits: ${limits.max_line_chars} characters per line, ${limits.max_lines} line${limits.max_lines === 1 ? "" : "s"}, `
      + `${limits.min_cue_seconds}–${limits.max_cue_seconds} s per cue.`);
    const body = cues.map(rowHtml).join("");
    wrap.innerHTML = `<table id="cues" class="cues${opts.onlyProblems?.checked ? " only-problems" : ""}">`
      + '<caption class="sr-only">Subtitle cues with their timing, lines and character counts</caption>'
      + '<thead><tr><th scope="col" class="num">#</th><th scope="col">Time</th><th scope="col" class="num">Length</th><th scope="col">Lines <span class="muted">(characters)</span></th><th scope="col">Check</th></tr></thead>'
      + `<tbody>${body}</tbody></table>`;
    if (!cues.length) wrap.insertAdjacentHTML("beforeend", '<p class="empty">No subtitles: nothing was said.</p>');
    activeCue = -1;
    activeRow = null;
  }

  wrap.addEventListener("click", (e) => {
    const ts = e.target.closest(".ts");
    if (ts) opts.seek(Number(ts.dataset.t));
  });
  opts.onlyProblems?.addEventListener("change", () => {
    wrap.querySelector("#cues")?.classList.toggle("only-problems", opts.onlyProblems.checked);
  });

  async function loadTrack() {
    const player = opts.player;
    if (!opts.video || !player || !job.links.transcript_vtt) return;
    const sep = job.links.transcript_vtt.includes("?") ? "&" : "?";
    const url = version ? `${job.links.transcript_vtt}${sep}v=${version}` : job.links.transcript_vtt;
    let src = url;
    if (getKey()) {
      src = await blobUrl(url);
      if (trackUrl) URL.revokeObjectURL(trackUrl);
      trackUrl = src;
    }
    if (destroyed) return;
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
    try {
      const text = await getText(job.links.transcript_srt);
      if (destroyed) return;
      cues = parseSubtitles(text);
      render();
    } catch (err) {
      if (!destroyed) {
        wrap.textContent = "";
        opts.onError(err, "Could not load the subtitles");
      }
    }
    try { await loadTrack(); } catch (err) { if (!destroyed) opts.onError(err, "Could not load the subtitles for the video"); }
  }

  function tick(t) {
    const k = cues.length ? cueAt(cues, t) : -1;
    if (k === activeCue) return;
    activeCue = k;
    if (activeRow) activeRow.classList.remove("active");
    activeRow = k >= 0 ? wrap.querySelector(`tr[data-cue="${k}"]`) : null;
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
    reload() { version += 1; return load(); },
    get cues() { return cues; },
    destroy() { destroyed = true; if (trackUrl) URL.revokeObjectURL(trackUrl); },
  };
}
