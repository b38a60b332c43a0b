// Subtitle files: a small SRT / WebVTT parser and the checks of a cue against the limits.
// Pure functions only.
import { charCount } from "./format.js";

const TIMING = /^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})/;

/** "01:02:03,456" / "02:03.456" → seconds. */
export function parseTime(text) {
  const parts = text.trim().replace(",", ".").split(":");
  let s = 0;
  for (const p of parts) s = s * 60 + Number(p);
  return Math.round(s * 1000) / 1000;
}

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "\u200e", "&rlm;": "\u200f" };

/** WebVTT cue text → plain text; a voice span <v Name> is kept as its voice. */
function vttPlain(line) {
  return line.replace(/<[^>]*>/g, "").replace(/&(amp|lt|gt|nbsp|lrm|rlm);/g, (m) => ENTITIES[m]);
}

/**
 * Parse SRT or WebVTT text into cues:
 * [{ index, start, end, lines: [string], voice: string|null }].
 * For VTT, `lines` are plain text (tags removed) and `voice` is the <v ...> speaker.
 */
export function parseSubtitles(text) {
  const src = String(text).replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const vtt = /^WEBVTT/.test(src);
  const blocks = src.split(/\n{2,}/);
  const cues = [];
  for (const block of blocks) {
    const rows = block.split("\n").filter((r, i, all) => r !== "" || i < all.length - 1);
    const t = rows.findIndex((r) => TIMING.test(r));
    if (t < 0) continue; // header, NOTE, STYLE, garbage
    const m = TIMING.exec(rows[t]);
    const id = t > 0 ? rows[t - 1].trim() : "";
    let lines = rows.slice(t + 1).filter((r) => r.trim() !== "");
    let voice = null;
    if (vtt) {
      const v = /^<v(?:\.[^\s>]*)?\s+([^>]+)>/.exec(lines[0] || "");
      if (v) voice = vttPlain(v[1]).trim();
      lines = lines.map(vttPlain);
    }
    cues.push({
      index: /^\d+$/.test(id) ? Number(id) : cues.length + 1,
      start: parseTime(m[1]),
      end: parseTime(m[2]),
      lines,
      voice,
    });
  }
  return cues;
}

/**
 * What is wrong with a cue under `limits` ({max_line_chars, max_lines, max_cue_seconds,
 * min_cue_seconds}): a list of { kind, text } (empty when the cue is fine).
 */
export function cueIssues(cue, limits) {
  const issues = [];
  const max = limits.max_line_chars;
  cue.lines.forEach((line, i) => {
    const n = charCount(line);
    if (max && n > max) issues.push({ kind: "line", line: i, text: `${n} chars > ${max}` });
  });
  if (limits.max_lines && cue.lines.length > limits.max_lines) {
    issues.push({ kind: "lines", text: `${cue.lines.length} lines > ${limits.max_lines}` });
  }
  const d = Math.round((cue.end - cue.start) * 1000) / 1000;
  if (limits.max_cue_seconds && d > limits.max_cue_seconds + 1e-9) {
    issues.push({ kind: "long", text: `${d.toFixed(2)} s > ${limits.max_cue_seconds} s` });
  }
  if (limits.min_cue_seconds != null && d < limits.min_cue_seconds - 1e-9) {
    issues.push({ kind: "short", text: `${d.toFixed(2)} s < ${limits.min_cue_seconds} s` });
  }
  return issues;
}

/** The cue showing at time t (cues sorted by start), or -1. Binary search. */
export function cueAt(cues, t) {
  let lo = 0;
  let hi = cues.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cues[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found >= 0 && t < cues[found].end ? found : -1;
}
