// Transcript search: a flat token index over the units (words or segments) and phrase
// matching that ignores case and punctuation. Pure.
import { normalizeWord } from "./format.js";

/** units: [{text}] → { tokens: [string], unitOf: Int32Array } (empty tokens dropped). */
export function buildSearchIndex(units) {
  const tokens = [];
  const owners = [];
  units.forEach((u, i) => {
    for (const part of String(u.text).split(/\s+/)) {
      const t = normalizeWord(part);
      if (t) { tokens.push(t); owners.push(i); }
    }
  });
  return { tokens, unitOf: Int32Array.from(owners) };
}

/** Query → normalized tokens. */
export function queryTokens(query) {
  return String(query).split(/\s+/).map(normalizeWord).filter(Boolean);
}

/**
 * All matches of `query` as unit ranges [{from, to}] (inclusive), in order. One word matches
 * inside words ("ello" finds "Hello,"); a phrase matches whole words in a row, except that
 * its first word may be a word's end and its last a word's start.
 */
export function findMatches(index, query, limit = 10000) {
  const q = queryTokens(query);
  const out = [];
  if (!q.length) return out;
  const { tokens, unitOf } = index;
  const n = q.length;
  for (let i = 0; i + n <= tokens.length && out.length < limit; i++) {
    let ok;
    if (n === 1) ok = tokens[i].includes(q[0]);
    else {
      ok = tokens[i].endsWith(q[0]) && tokens[i + n - 1].startsWith(q[n - 1]);
      for (let k = 1; ok && k < n - 1; k++) ok = tokens[i + k] === q[k];
    }
    if (!ok) continue;
    const from = unitOf[i];
    const to = unitOf[i + n - 1];
    const last = out[out.length - 1];
    if (last && last.from === from && last.to === to) continue; // same unit (segments)
    out.push({ from, to });
  }
  return out;
}
