// The transcript: paragraphs of clickable words, the playing word highlighted, follow
// mode, and search. Built for long files: one HTML string per batch of paragraphs, one
// delegated listener, and only two words touched per highlight change.
import { buildParagraphs, unitAt } from "./paragraphs.js";
import { buildSearchIndex, findMatches } from "./search.js";
import { escapeHtml, formatClock } from "./format.js";
import { prefersReducedMotion } from "./dom.js";

export const SPEAKER_COLORS = 8;
// Paragraphs are rendered by the browser in blocks of 16, each skipped while off screen
// (content-visibility). Per paragraph, a 3-hour transcript's 3,000 skipped boxes cost every
// scrolled frame ~20 ms (36 ms frames, bench/webapp.py); per block, frames keep to 16.7 ms.
// Without any skipping, nothing is skipped at load: usable in 1.9 s instead of 1.0 s.
const BLOCK = 16;

/**
 * Render `transcript` (verbose_json) into `container` (#transcript).
 * opts: { speakers: [{label, name}] | null, seek(t), getTime(), search: {input, count, prev, next},
 *         followButton }
 * Returns { model, tick(t), setSpeakerName(label, name), destroy() }.
 */
export function mountTranscript(container, transcript, opts) {
  // A named speaker's words carry the name: map them back to the label.
  const byName = new Map((opts.speakers || []).map((sp) => [sp.name || sp.label, sp.label]));
  const model = buildParagraphs(transcript, (sp) => (sp == null ? null : byName.get(sp) ?? sp));
  const { units, paragraphs, starts } = model;
  const speakerIndex = new Map((opts.speakers || []).map((s, i) => [s.label, i]));
  const nameOf = new Map((opts.speakers || []).map((s) => [s.label, s.name || s.label]));

  // ---- render ---------------------------------------------------------------
  function speakerClass(label) {
    if (!speakerIndex.has(label)) speakerIndex.set(label, speakerIndex.size);
    return `spk-${speakerIndex.get(label) % SPEAKER_COLORS}`;
  }
  function paragraphHtml(p, k) {
    const parts = [`<div class="para" data-p="${k}"><div class="para-head">`];
    if (model.diarized) {
      const label = p.speaker ?? "?";
      const name = nameOf.get(label) ?? label;
      parts.push(`<span class="speaker-name ${speakerClass(label)}" data-speaker="${escapeHtml(label)}">${escapeHtml(name)}</span>`);
    }
    const clock = formatClock(p.start);
    parts.push(`<button type="button" class="ts" data-t="${p.start}" aria-label="Play from ${clock}">${clock}</button></div><p class="para-text">`);
    for (let i = p.from; i <= p.to; i++) {
      const u = units[i];
      parts.push(`${i > p.from && u.space ? " " : ""}<span class="w" data-i="${i}">${escapeHtml(u.text)}</span>`);
    }
    parts.push("</p></div>");
    return parts.join("");
  }

  container.classList.toggle("by-segments", !model.byWords);
  if (!units.length) {
    container.innerHTML = '<p class="empty">No speech was found in this recording.</p>';
  } else {
    const html = [];
    for (let k = 0; k < paragraphs.length; k++) {
      if (k % BLOCK === 0) html.push(k ? '</div><div class="block">' : '<div class="block">');
      html.push(paragraphHtml(paragraphs[k], k));
    }
    html.push("</div>");
    container.innerHTML = html.join("");
  }
  // A static array (document order = unit index): a live collection would be walked again
  // after every class change.
  const words = Array.from(container.getElementsByClassName("w"));

  // ---- playing word -----------------------------------------------------------
  let current = -1;
  let follow = true;
  const reduced = prefersReducedMotion();
  const followButton = opts.followButton;

  function setFollow(on, jump = true) {
    follow = on;
    if (followButton) {
      followButton.setAttribute("aria-pressed", String(on));
      followButton.classList.toggle("off", !on);
    }
    if (on && jump && current >= 0) reveal(words[current], true);
  }

  function reveal(el, force = false) {
    if (!el) return;
    const rect = el.getBoundingClientRect();
    const top = stickyBottom();
    const bottom = window.innerHeight;
    if (!force && rect.top >= top + 8 && rect.bottom <= bottom - 24) return;
    const far = Math.abs(rect.top - (top + bottom) / 2) > 2 * bottom;
    el.scrollIntoView({ block: "center", behavior: reduced || far ? "auto" : "smooth" });
  }

  let stickyEl = null;
  function stickyBottom() {
    stickyEl = stickyEl || document.querySelector(".player-bar");
    if (!stickyEl) return 0;
    const r = stickyEl.getBoundingClientRect();
    return r.top <= 1 ? Math.max(0, r.bottom) : 0;
  }

  function setCurrent(i) {
    if (i === current) return;
    if (current >= 0 && words[current]) {
      words[current].classList.remove("current");
      words[current].removeAttribute("aria-current");
    }
    current = i;
    const el = i >= 0 ? words[i] : null;
    if (el) {
      el.classList.add("current");
      el.setAttribute("aria-current", "true");
      if (follow && !playingPaused()) reveal(el);
    }
  }
  function playingPaused() { return opts.isPaused ? opts.isPaused() : false; }

  // A clicked word stays the current one until the time moves on from its start (words
  // may share a start time).
  let pinned = -1;
  function pin(i) { pinned = i; setCurrent(i); }

  function tick(t) {
    if (!units.length) return;
    if (pinned >= 0) {
      if (Math.abs(t - starts[pinned]) < 0.06) { setCurrent(pinned); return; }
      pinned = -1;
    }
    const i = unitAt(starts, t + 0.01);
    // after the last word ends (plus a moment), nothing is current
    if (i >= 0 && i === units.length - 1 && t > units[i].end + 1) setCurrent(-1);
    else setCurrent(i);
  }

  // The user scrolling away pauses follow mode until they ask for it again.
  function userScrolled(e) {
    if (!follow || playingPaused()) return;
    if (e.type === "keydown") {
      const nav = ["PageUp", "PageDown", "ArrowUp", "ArrowDown", "Home", "End", " "];
      if (!nav.includes(e.key)) return;
      const t = e.target;
      if (t && (t.closest?.("input, textarea, select, button, audio, video, [contenteditable]"))) return;
    }
    setFollow(false, false);
  }
  window.addEventListener("wheel", userScrolled, { passive: true });
  window.addEventListener("touchmove", userScrolled, { passive: true });
  window.addEventListener("keydown", userScrolled);
  const onFollowClick = () => setFollow(!follow);
  followButton?.addEventListener("click", onFollowClick);
  setFollow(true, false);

  // One listener for every word and timestamp.
  function onClick(e) {
    const ts = e.target.closest(".ts");
    if (ts) { opts.seek(Number(ts.dataset.t)); setFollow(true, false); return; }
    const w = e.target.closest(".w");
    if (w && container.contains(w)) {
      const sel = window.getSelection && window.getSelection();
      if (sel && !sel.isCollapsed && sel.toString().trim()) return; // selecting text, not seeking
      const i = Number(w.dataset.i);
      opts.seek(units[i].start);
      pin(i);
      setFollow(true, false);
    }
  }
  container.addEventListener("click", onClick);

  // ---- search -----------------------------------------------------------------
  const s = opts.search;
  let index = null;
  let matches = [];
  let at = -1;
  let visited = false;
  let timer = 0;

  function mark(m, cls, on) {
    for (let i = m.from; i <= m.to; i++) words[i]?.classList.toggle(cls, on);
  }
  function clearMatches() {
    if (at >= 0 && matches[at]) mark(matches[at], "match-current", false);
    for (const m of matches) mark(m, "match", false);
    matches = [];
    at = -1;
  }
  function showCount() {
    const q = s.input.value.trim();
    s.count.textContent = !q ? "" : matches.length ? `${at + 1} of ${matches.length}` : "No matches";
    s.prev.disabled = s.next.disabled = matches.length === 0;
  }
  function goTo(k, seek) {
    if (!matches.length) return;
    if (at >= 0 && matches[at]) mark(matches[at], "match-current", false);
    at = ((k % matches.length) + matches.length) % matches.length;
    const m = matches[at];
    mark(m, "match-current", true);
    showCount();
    const el = words[m.from];
    if (el) el.scrollIntoView({ block: "center", behavior: reduced ? "auto" : "smooth" });
    if (seek) {
      visited = true;
      setFollow(false, false);
      opts.seek(units[m.from].start);
      pin(m.from);
    }
  }
  function runSearch() {
    clearMatches();
    visited = false;
    const q = s.input.value;
    if (q.trim()) {
      index = index || buildSearchIndex(units);
      matches = findMatches(index, q);
      for (const m of matches) mark(m, "match", true);
      if (matches.length) {
        // start from the first match at or after the playing position
        const t = opts.getTime();
        let k = matches.findIndex((m) => units[m.from].start >= t - 0.05);
        if (k < 0) k = 0;
        goTo(k, false);
      }
    }
    showCount();
  }
  function step(dir) {
    clearTimeout(timer);
    if (timer) { timer = 0; runSearch(); }
    if (!matches.length) return;
    if (!visited && dir > 0) goTo(at, true); // the first Enter goes to the match on show
    else goTo(at + dir, true);
  }
  const onInput = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = 0; runSearch(); }, units.length > 5000 ? 180 : 60);
  };
  const onKey = (e) => {
    if (e.key === "Enter") { e.preventDefault(); step(e.shiftKey ? -1 : 1); }
    else if (e.key === "Escape" && s.input.value) { e.preventDefault(); s.input.value = ""; runSearch(); }
  };
  const onPrev = () => step(-1);
  const onNext = () => step(1);
  if (s) {
    s.input.addEventListener("input", onInput);
    s.input.addEventListener("keydown", onKey);
    s.prev.addEventListener("click", onPrev);
    s.next.addEventListener("click", onNext);
    showCount();
    if (s.input.value) runSearch();
  }

  function setSpeakerName(label, name) {
    nameOf.set(label, name);
    for (const el of container.querySelectorAll(`.speaker-name[data-speaker="${CSS.escape(label)}"]`)) {
      el.textContent = name;
    }
  }

  /** Seconds each speaker talks (from the units), for the speaker list. */
  function talkTime() {
    const out = new Map();
    for (const p of paragraphs) {
      if (p.speaker == null) continue;
      let sum = 0;
      for (let i = p.from; i <= p.to; i++) sum += Math.max(0, units[i].end - units[i].start);
      out.set(p.speaker, (out.get(p.speaker) || 0) + sum);
    }
    return out;
  }

  return {
    model,
    tick,
    setSpeakerName,
    talkTime,
    speakerClass,
    setFollow,
    destroy() {
      clearTimeout(timer);
      window.removeEventListener("wheel", userScrolled);
      window.removeEventListener("touchmove", userScrolled);
      window.removeEventListener("keydown", userScrolled);
      followButton?.removeEventListener("click", onFollowClick);
      container.removeEventListener("click", onClick);
      if (s) {
        s.input.removeEventListener("input", onInput);
        s.input.removeEventListener("keydown", onKey);
        s.prev.removeEventListener("click", onPrev);
        s.next.removeEventListener("click", onNext);
      }
    },
  };
}
