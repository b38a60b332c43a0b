// A transcript (verbose_json) as units (words, else segments) grouped into paragraphs:
// one per speaker turn, or (without speakers) ~30 s of speech or up to a long pause. Pure.

const PARAGRAPH_SECONDS = 30; // without speakers: start a new paragraph after this much...
const PAUSE_SECONDS = 2; // ...or at a pause this long, at a segment boundary
const LONG_TURN_SECONDS = 90; // a speaker's long turn is split too (same speaker shown)

/**
 * transcript: { segments: [{start, end, text, speaker?}], words?: [{word, start, end, speaker?}] }
 * → { units: [{text, start, end, space}], paragraphs: [{from, to, start, speaker}],
 *     byWords, diarized, starts: Float64Array }
 * `space` is true when the unit is preceded by a space in running text. `speakerOf` maps the
 * transcript's speaker (a label, or a name once named) to the speaker's label.
 */
const NO_SPACE = new Set(["zh", "ja", "th", "lo", "my", "km", "bo", "yue", "chinese", "japanese",
  "thai", "lao", "burmese", "myanmar", "khmer", "tibetan", "cantonese"]);
const SENTENCE_END = /[.?!\u2026\u3002\uff1f\uff01]["'\u201d\u2019)\]]*$/;

export function buildParagraphs(transcript, speakerOf = (s) => s) {
  const segments = (transcript.segments || []).filter((s) => s && Number.isFinite(s.start));
  // Every word is kept, even an empty one: a unit's index is its index in `words`.
  const words = (transcript.words || []).filter(Boolean);
  const byWords = words.length > 0;
  const diarized = segments.some((s) => s.speaker != null) || words.some((w) => w.speaker != null);

  const units = [];
  const segOf = []; // which segment each unit is in
  if (byWords) {
    // Words carry their leading space (" hello"), or none at all: then spaces go between
    // them, except in languages written without spaces.
    const spaced = words.some((w) => /^\s/.test(w.word));
    const glue = !spaced && NO_SPACE.has(String(transcript.language || "").toLowerCase());
    let k = 0;
    let last = 0;
    for (const w of words) {
      const start = Number.isFinite(w.start) ? w.start : last;
      last = start;
      while (k + 1 < segments.length && segments[k + 1].start <= start + 1e-6) k += 1;
      const raw = String(w.word ?? "");
      units.push({ text: raw.trim(), start, end: Number.isFinite(w.end) ? w.end : start, space: spaced ? /^\s/.test(raw) : !glue, speaker: speakerOf(w.speaker ?? segments[k]?.speaker ?? null) });
      segOf.push(segments.length ? k : -1);
    }
  } else {
    segments.forEach((s, k) => {
      const text = String(s.text || "").trim();
      units.push({ text, start: s.start, end: Number.isFinite(s.end) ? s.end : s.start, space: true, speaker: speakerOf(s.speaker ?? null) });
      segOf.push(k);
    });
  }

  // No-space scripts (words without leading spaces): keep them glued.
  const paragraphs = [];
  let cur = null;
  let prevEnd = 0;
  units.forEach((u, i) => {
    // Where a paragraph may end: between segments, or (no segments) after a sentence or at
    // a pause.
    const newSegment = i === 0 || (segOf[i] >= 0
      ? segOf[i] !== segOf[i - 1]
      : SENTENCE_END.test(units[i - 1].text) || u.start - units[i - 1].end >= 1);
    let split = !cur;
    if (cur && diarized && u.speaker !== cur.speaker) split = true;
    else if (cur && newSegment) {
      const length = u.start - cur.start;
      const pause = u.start - prevEnd;
      if (diarized) split = length >= LONG_TURN_SECONDS;
      else split = length >= PARAGRAPH_SECONDS || pause >= PAUSE_SECONDS;
    }
    if (split) {
      cur = { from: i, to: i, start: u.start, speaker: diarized ? u.speaker : null };
      paragraphs.push(cur);
    }
    cur.to = i;
    prevEnd = Math.max(prevEnd, u.end);
  });

  const starts = new Float64Array(units.length);
  let last = -Infinity;
  units.forEach((u, i) => { last = Math.max(last, u.start); starts[i] = last; }); // monotone for search
  return { units, paragraphs, byWords, diarized, starts };
}

/** Index of the last unit that started at or before t (-1 before the first). */
export function unitAt(starts, t) {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}
