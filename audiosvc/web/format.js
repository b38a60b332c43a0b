// Pure helpers: times, sizes, dates, text. No DOM, no network (unit-testable in node).

/** "1:02:03" for an hour or more, else "2:03"; "–" for null/NaN. */
export function formatClock(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(sec).padStart(2, "0")}`;
}

/** Media duration as h:mm:ss (always with hours), e.g. "0:01:12". */
export function formatDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** Subtitle time, "00:01:02,345" (SRT) or with sep "." (VTT). */
export function formatCueTime(seconds, sep = ",") {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(h)}:${p(m)}:${p(s)}${sep}${p(ms % 1000, 3)}`;
}

/** "1.5 s" / "12 s" style short seconds. */
export function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  return `${seconds < 10 ? seconds.toFixed(2).replace(/0$/, "") : seconds.toFixed(1)} s`;
}

const UNITS = ["bytes", "KB", "MB", "GB", "TB"];
/** 1536 → "1.5 KB", 200*1024*1024 → "200 MB". Binary multiples, short units. */
export function formatBytes(bytes) {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return "–";
  let i = 0;
  let n = bytes;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i += 1; }
  if (i === 0) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const digits = n >= 100 || Number.isInteger(n) ? 0 : 1;
  return `${n.toFixed(digits).replace(/\.0$/, "")} ${UNITS[i]}`;
}

/** "just now", "2 min ago", "3 h ago", "yesterday", "5 days ago", else a date. */
export function relativeTime(date, now = new Date()) {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return "";
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(s / 3600);
  if (h < 24) return `${h} h ago`;
  const days = Math.round(s / 86400);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** Absolute local time for tooltips. */
export function absoluteTime(date) {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A job's progress in [0, 1]: seconds, else chunks; 0 while queued or unknown. */
export function jobProgress(job) {
  if (!job) return 0;
  if (job.status === "succeeded") return 1;
  const p = job.progress || {};
  let f = 0;
  if (p.seconds_total > 0) f = (p.seconds_done || 0) / p.seconds_total;
  else if (p.chunks_total > 0) f = (p.chunks_done || 0) / p.chunks_total;
  return Math.min(1, Math.max(0, f || 0));
}

export function percent(fraction) {
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

export const ACTIVE = new Set(["queued", "processing"]);
export const isActive = (job) => ACTIVE.has(job && job.status);

/** What to call a job: its file name, else the last part of its URL, else its id. */
export function jobTitle(job) {
  if (job.filename) return job.filename;
  if (job.url) {
    try {
      const u = new URL(job.url);
      const last = decodeURIComponent(u.pathname.split("/").filter(Boolean).pop() || "");
      return last || u.host;
    } catch { return job.url; }
  }
  return job.id;
}

/** Filename from a Content-Disposition header (RFC 6266 filename* first). */
export function dispositionFilename(header, fallback = "download") {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try { return decodeURIComponent(star[2].trim().replace(/^"|"$/g, "")); } catch { /* fall through */ }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]+)/i.exec(header);
  if (plain) return (plain[2] !== undefined ? plain[2].replace(/\\(.)/g, "$1") : plain[1]).trim();
  return fallback;
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
}

/** Characters as people (and the subtitle rules) count them: code points. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1; // eslint-disable-line no-unused-vars
  return n;
}

/** One word as search compares it: lower case, without punctuation, symbols or spaces
 * ("It's," → "its"). */
export function normalizeWord(text) {
  return String(text).normalize("NFKC").toLowerCase().replace(/[\p{P}\p{S}\s]+/gu, "");
}
