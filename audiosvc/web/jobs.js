// The jobs list: rendering, live updates (event streams), cancel and delete.
import { deleteJob, followEvents, getConfig, getJob, getKey, listJobs } from "./api.js";
import { announce, h, showError } from "./dom.js";
import {
  absoluteTime, formatClock, formatDuration, isActive, jobProgress, jobTitle, percent, relativeTime,
} from "./format.js";

const MAX_STREAMS = 4; // browsers allow ~6 connections per origin: leave room for the rest
const POLL_MS = 4000;
const RETRY_MIN_MS = 1000; // a failed event stream is retried after 1 s, 2 s, 4 s… at most 30 s
const RETRY_MAX_MS = 30000;

const STATUS_TEXT = {
  queued: "Queued",
  processing: "Working",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

function statusText(job) {
  if (job.status === "processing") return job.options?.task === "translate" ? "Translating" : "Transcribing";
  return STATUS_TEXT[job.status] || job.status;
}

function progressText(job) {
  if (job.status === "queued") return "Waiting to start";
  const p = job.progress || {};
  if (p.seconds_total > 0) return `${formatClock(p.seconds_done)} of ${formatClock(p.seconds_total)}`;
  if (p.chunks_total > 0) return `Part ${Math.min(p.chunks_total, (p.chunks_done || 0) + 1)} of ${p.chunks_total}`;
  return "Preparing the audio";
}

function optionsText(job) {
  const o = job.options || {};
  const bits = [];
  if (o.task === "translate") bits.push("Translate to English");
  if (o.diarize) {
    const n = job.speakers && job.speakers.length;
    bits.push(n ? `${n} speaker${n === 1 ? "" : "s"}` : "Speakers");
  }
  return bits.join(" · ");
}

/** Wire the list in `root`. Returns { add(job), refresh(), destroy() }. */
export function mountJobs(root) {
  const list = root.querySelector("#jobs");
  const empty = root.querySelector("#jobs-empty");
  const errorBox = root.querySelector("#jobs-error");
  const jobs = new Map(); // id → job view (links kept from list/GET)
  const items = new Map(); // id → { li, parts }
  const streams = new Map(); // id → AbortController
  const retries = new Map(); // id → { failures, timer } of a stream waiting to be retried
  const noStream = new Set(); // ids whose stream was refused (4xx): the poller follows them
  const deleted = new Set(); // ids deleted here: a late reply never brings them back
  const announced = new Set(); // ids whose end was announced (once each)
  let destroyed = false;
  let loaded = false;
  let refreshSeq = 0; // the newest refresh() started
  let refreshApplied = 0; // the newest refresh() whose answer was used
  let keyRefused = false; // the key was refused: no polling until asked again (key prompt is up)

  function merge(job) {
    const old = jobs.get(job.id);
    const links = job.links && Object.keys(job.links).length ? job.links : old?.links || {};
    // a job that ended never runs again: a stale answer saying "active" is ignored
    if (old && !isActive(old) && isActive(job)) return old;
    const merged = { ...old, ...job, links };
    jobs.set(job.id, merged);
    return merged;
  }

  function build(job) {
    const titleId = `job-title-${job.id}`;
    const parts = {};
    parts.title = h("span.job-title", { id: titleId });
    parts.badge = h("span.badge");
    parts.duration = h("span.job-duration");
    parts.time = h("time.job-time");
    parts.options = h("span.job-options");
    parts.bar = h("progress.job-bar", { max: 100, value: 0, "aria-labelledby": titleId });
    parts.pct = h("span.num.job-pct");
    parts.ptext = h("span.muted.job-ptext");
    parts.progress = h("div.job-progress", {}, parts.bar, h("div.job-progress-text", {}, parts.pct, parts.ptext));
    parts.error = h("p.job-error");
    parts.open = h("a.button.primary.small.job-open", { href: `#/jobs/${encodeURIComponent(job.id)}`, "aria-describedby": titleId }, "Open");
    parts.cancel = h("button.button.secondary.small.job-cancel", { type: "button", "aria-describedby": titleId }, "Cancel");
    parts.del = h("button.button.ghost.small.danger.job-delete", { type: "button", "aria-describedby": titleId }, "Delete");
    parts.cancel.addEventListener("click", () => cancel(job.id, parts.cancel));
    parts.del.addEventListener("click", () => remove(job.id, parts.del));
    const li = h("li.job", { dataset: { jobId: job.id } },
      h("div.job-main", {},
        h("div.job-line", {}, parts.badge, parts.title),
        h("div.job-meta", {}, parts.duration, parts.time, parts.options),
        parts.error),
      h("div.job-actions", {}, parts.open, parts.cancel, parts.del));
    const entry = { li, parts, key: "" };
    items.set(job.id, entry);
    return entry;
  }

  function update(job) {
    const entry = items.get(job.id) || build(job);
    const { li, parts } = entry;
    const active = isActive(job);
    li.dataset.status = job.status;
    const title = jobTitle(job);
    const link = job.status === "succeeded";
    if (link !== (parts.title.tagName === "A")) {
      // a finished job's name opens it too (by mouse; keyboard users have "Open")
      const next = link
        ? h("a.job-title", { id: parts.title.id, href: `#/jobs/${encodeURIComponent(job.id)}`, tabindex: "-1" })
        : h("span.job-title", { id: parts.title.id });
      parts.title.replaceWith(next);
      parts.title = next;
    }
    if (parts.title.textContent !== title) {
      parts.title.textContent = title;
      parts.title.title = job.url || job.filename || "";
    }
    parts.badge.textContent = statusText(job);
    parts.badge.className = `badge badge-${job.status}`;
    if (job.duration != null) {
      // (an aria-label on a bare span is ignored: the words are hidden text instead)
      parts.duration.replaceChildren(h("span.sr-only", {}, "Length "), formatDuration(job.duration));
    } else parts.duration.textContent = "";
    parts.duration.hidden = job.duration == null;
    parts.time.dateTime = job.created_at || "";
    parts.time.title = absoluteTime(job.created_at);
    parts.time.textContent = relativeTime(job.created_at);
    parts.options.textContent = optionsText(job);
    parts.options.hidden = !parts.options.textContent;
    // the bar exists only while the job runs (tests and screen readers see none after)
    if (active && !parts.progress.isConnected) parts.error.before(parts.progress);
    if (!active && parts.progress.isConnected) parts.progress.remove();
    if (active) {
      const f = jobProgress(job);
      parts.bar.value = Math.round(f * 100);
      parts.bar.textContent = percent(f);
      parts.pct.textContent = percent(f);
      parts.ptext.textContent = progressText(job);
    }
    const err = job.status === "failed" ? job.error?.message || "The job failed." : "";
    parts.error.textContent = err;
    parts.error.hidden = !err;
    parts.open.hidden = job.status !== "succeeded";
    parts.cancel.hidden = !active;
    parts.del.hidden = active;
    // keep focus sane: never leave focus on a button that just got hidden
    if (parts.cancel.hidden && document.activeElement === parts.cancel) (parts.open.hidden ? parts.del : parts.open).focus();
    return entry;
  }

  function place(ids) {
    // Keep the DOM order = ids order without rebuilding items (keeps focus).
    let prev = null;
    for (const id of ids) {
      const { li } = items.get(id);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (li !== want) list.insertBefore(li, want);
      prev = li;
    }
    for (const [id, { li }] of items) {
      if (!ids.includes(id)) { li.remove(); items.delete(id); jobs.delete(id); stop(id); clearRetry(id); }
    }
    syncEmpty();
  }

  function syncEmpty() {
    // the empty state is an item of the list, so the list itself is always there
    const show = loaded && items.size === 0;
    if (show && !empty.isConnected) list.append(empty);
    if (!show && empty.isConnected) empty.remove();
    empty.hidden = !show;
  }

  function order() {
    return [...jobs.values()]
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)))
      .map((j) => j.id);
  }

  const emptyText = empty.textContent;
  function setEmptyText(text) { empty.textContent = text; loaded = true; syncEmpty(); }

  async function refresh() {
    if (getConfig().auth_required && !getKey()) { setEmptyText("Enter your API key to see your jobs."); return; }
    empty.textContent = emptyText;
    keyRefused = false;
    const seq = ++refreshSeq;
    try {
      const page = await listJobs(50);
      // answers may arrive out of order: one older than the last used is dropped
      if (destroyed || seq < refreshApplied) return;
      refreshApplied = seq;
      loaded = true;
      showError(errorBox, null);
      const seen = new Set();
      for (const j of page.data || []) {
        if (deleted.has(j.id)) continue;
        seen.add(j.id);
        update(merge(j));
      }
      // jobs added here but not (yet) in the page stay only if they are active
      for (const id of [...jobs.keys()]) if (!seen.has(id) && !isActive(jobs.get(id))) jobs.delete(id);
      place(order());
      followActive();
    } catch (err) {
      if (destroyed || seq < refreshApplied) return;
      loaded = true;
      syncEmpty();
      // a refused key is said by the key prompt, once
      if (err.status === 401) { keyRefused = true; setEmptyText(getKey() ? "Your jobs appear here once the API key is accepted." : "Enter your API key to see your jobs."); return; }
      showError(errorBox, err, "Could not load your jobs");
    }
  }

  function add(job) {
    if (deleted.has(job.id)) return;
    update(merge(job));
    place(order());
    followActive();
    // the job just created here: class "new" (a brief highlight) and data-new="true"
    for (const { li } of items.values()) li.removeAttribute("data-new");
    const li = items.get(job.id)?.li;
    if (li) { li.classList.add("new"); li.dataset.new = "true"; }
  }

  // Live updates -------------------------------------------------------------
  // Up to MAX_STREAMS active jobs are followed by their event stream; the rest, and any
  // whose stream is refused (4xx) or waiting to be retried, are polled.
  function followActive() {
    if (destroyed) return;
    for (const job of jobs.values()) {
      if (!isActive(job) || streams.has(job.id) || noStream.has(job.id)) continue;
      if (retries.get(job.id)?.timer) continue; // backing off
      if (streams.size >= MAX_STREAMS) break; // the rest are polled
      follow(job.id);
    }
  }

  function stop(id) {
    const c = streams.get(id);
    if (c) { c.abort(); streams.delete(id); }
  }

  function clearRetry(id) {
    const r = retries.get(id);
    if (r?.timer) clearTimeout(r.timer);
    retries.delete(id);
  }

  /** Follow `id` again later: 1 s, 2 s, 4 s… (30 s at most) after each failure in a row. */
  function retryLater(id) {
    const r = retries.get(id) || { failures: 0, timer: 0 };
    if (r.timer) clearTimeout(r.timer);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** r.failures);
    r.failures += 1;
    r.timer = setTimeout(() => {
      r.timer = 0;
      if (!destroyed) followActive();
    }, delay);
    retries.set(id, r);
  }

  async function follow(id) {
    const controller = new AbortController();
    streams.set(id, controller);
    let ended = false;
    let heard = false;
    let refused = false;
    try {
      await followEvents(id, (event, view) => {
        if (destroyed || !jobs.has(id) || deleted.has(id)) return;
        if (!heard) {
          heard = true;
          const r = retries.get(id);
          if (r) r.failures = 0; // the stream works again
        }
        update(merge(view));
        if (event !== "progress") ended = true;
      }, controller.signal);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      // 4xx: this stream will not work (no key, job gone…): stop streaming, the poller
      // follows the job. Other failures are retried with backoff.
      refused = err?.status >= 400 && err.status < 500;
    } finally {
      if (streams.get(id) === controller) streams.delete(id);
    }
    if (destroyed || controller.signal.aborted || !jobs.has(id)) return;
    if (refused) noStream.add(id);
    else if (!ended) retryLater(id); // never straight back: wait first
    if (!refused) {
      try {
        const fresh = merge(await getJob(id));
        if (destroyed || !jobs.has(id)) return;
        update(fresh);
        if (!isActive(fresh)) { clearRetry(id); finished(fresh); }
        else if (ended) retryLater(id);
      } catch { /* the next poll will try again */ }
    }
    followActive(); // a free slot for another job (this one waits for its retry)
  }

  function finished(job) {
    if (announced.has(job.id)) return;
    announced.add(job.id);
    const name = jobTitle(job);
    if (job.status === "succeeded") announce(`${name} is ready.`);
    else if (job.status === "failed") announce(`${name} failed: ${job.error?.message || "unknown error"}`);
    else if (job.status === "cancelled") announce(`${name} was cancelled.`);
  }

  const poller = setInterval(() => {
    const unfollowed = [...jobs.values()].some((j) => isActive(j) && !streams.has(j.id));
    if (unfollowed && !document.hidden && !keyRefused) refresh();
  }, POLL_MS);
  const clock = setInterval(() => {
    for (const [id, { parts }] of items) {
      const j = jobs.get(id);
      if (j) parts.time.textContent = relativeTime(j.created_at);
    }
  }, 30000);

  // Actions --------------------------------------------------------------------
  async function cancel(id, button) {
    button.disabled = true;
    try {
      const before = jobs.get(id);
      const name = before ? jobTitle(before) : id;
      const view = await deleteJob(id);
      stop(id);
      clearRetry(id);
      if (view.deleted) {
        // it had ended before the cancel arrived, and a finished job is deleted outright
        forget(id, `${name} had already finished, so it was deleted.`);
        return;
      }
      const job = merge(view);
      update(job);
      announced.add(id);
      if (job.status === "cancelled") announce(`${name} was cancelled.`);
      else if (job.status === "succeeded") announce(`${name} had already finished; it was not cancelled.`);
      else if (job.status === "failed") announce(`${name} had already failed; it was not cancelled.`);
      else announce(`${name}: the cancel was asked for.`);
      const parts = items.get(id)?.parts;
      if (parts) (parts.del.hidden ? (parts.open.hidden ? parts.cancel : parts.open) : parts.del).focus();
    } catch (err) {
      showError(errorBox, err, "Could not cancel the job");
    } finally {
      button.disabled = false;
    }
  }

  async function remove(id, button) {
    const job = jobs.get(id);
    const name = job ? jobTitle(job) : id;
    if (!window.confirm(`Delete “${name}” and its transcript? This cannot be undone.`)) return;
    button.disabled = true;
    try {
      await deleteJob(id);
      forget(id, `${name} was deleted.`);
    } catch (err) {
      showError(errorBox, err, "Could not delete the job");
      button.disabled = false;
    }
  }

  /** Drop a deleted job from the list, say so, and put focus somewhere useful. */
  function forget(id, message) {
    const li = items.get(id)?.li;
    const siblings = [...list.querySelectorAll(":scope > li.job")];
    const at = siblings.indexOf(li);
    const next = siblings[at + 1] || siblings[at - 1] || null;
    deleted.add(id);
    stop(id);
    clearRetry(id);
    jobs.delete(id);
    place(order());
    announce(message);
    // the next job's first visible action, else the list's heading
    const target = next?.isConnected
      ? [...next.querySelectorAll(".job-actions > a, .job-actions > button")].find((el) => !el.hidden && !el.disabled)
      : null;
    if (target) target.focus();
    else {
      const heading = root.querySelector("#jobs-title");
      if (heading) { heading.tabIndex = -1; heading.focus(); }
    }
  }

  root.querySelector("#jobs-refresh")?.addEventListener("click", () => refresh());

  return {
    add,
    refresh,
    destroy() {
      destroyed = true;
      clearInterval(poller);
      clearInterval(clock);
      for (const id of [...streams.keys()]) stop(id);
      for (const id of [...retries.keys()]) clearRetry(id);
    },
  };
}
