// One job's page (#/jobs/<id>): header, player, transcript / subtitles tabs, speakers,
// downloads. While the job still runs it shows its progress and follows it live.
import { deleteJob, followEvents, getConfig, getJob, getTranscript, loadConfig } from "./api.js";
import { announce, h, icon, showError } from "./dom.js";
import {
  absoluteTime, formatDuration, isActive, jobProgress, jobTitle, percent, relativeTime,
} from "./format.js";
import { mountTranscript } from "./transcript.js";
import { mountSubtitles } from "./subtitles.js";
import { mountSpeakers } from "./speakers.js";
import { mountDownloads } from "./downloads.js";

function languageName(value) {
  if (!value) return "";
  const v = String(value).toLowerCase();
  const hit = (getConfig().languages || []).find((l) => l.code === v || l.name.toLowerCase() === v);
  return hit ? hit.name : v.charAt(0).toUpperCase() + v.slice(1);
}
function languageCode(value) {
  if (!value) return "";
  const v = String(value).toLowerCase();
  const hit = (getConfig().languages || []).find((l) => l.code === v || l.name.toLowerCase() === v);
  return hit ? hit.code : v.length <= 3 ? v : "";
}

export function mountJobView(main, id) {
  const cleanups = [];
  const controller = new AbortController();
  let destroyed = false;
  let job = null;

  const title = h("h1#page-title", { tabindex: "-1" }, "Loading…");
  const meta = h("p.job-head-meta.muted");
  const alert = h("div.alert#job-error", { role: "alert", hidden: true });
  const body = h("div.job-body");
  const root = h("div.job-view", {},
    h("nav.crumbs", { "aria-label": "Breadcrumb" },
      h("a.back", { href: "#/" }, icon("back"), "All jobs")),
    h("header.job-head", {}, title, meta),
    alert,
    body);
  main.replaceChildren(root);

  function fail(err, heading) { if (!destroyed) showError(alert, err, heading); }

  function setMeta(j, transcript) {
    const bits = [];
    // (an aria-label on a bare span is ignored: the word is hidden text instead)
    if (j.duration != null) bits.push(h("span", {}, h("span.sr-only", {}, "Length "), formatDuration(j.duration)));
    const lang = transcript?.language || j.options?.language;
    if (lang) bits.push(h("span", {}, languageName(lang)));
    if (j.options?.task === "translate") bits.push(h("span", {}, "Translated to English"));
    if (j.speakers && j.speakers.length) bits.push(h("span", {}, `${j.speakers.length} speaker${j.speakers.length === 1 ? "" : "s"}`));
    if (j.created_at) bits.push(h("time", { datetime: j.created_at, title: absoluteTime(j.created_at) }, `Added ${relativeTime(j.created_at)}`));
    meta.replaceChildren(...bits);
  }

  async function start() {
    try {
      job = await getJob(id);
    } catch (err) {
      if (destroyed) return;
      title.textContent = err.status === 404 ? "Job not found" : "Could not open this job";
      document.title = `${title.textContent} · audiosvc`;
      fail(err, err.status === 404 ? "This job does not exist or was deleted" : undefined);
      return;
    }
    if (destroyed) return;
    title.textContent = jobTitle(job);
    document.title = `${jobTitle(job)} · audiosvc`;
    setMeta(job);
    if (job.status === "succeeded") showFinished();
    else if (isActive(job)) showRunning();
    else showEnded();
  }

  // ---- deleted elsewhere (404 while open) ---------------------------------------
  function showDeleted() {
    if (destroyed) return;
    showError(alert, null);
    root.dataset.status = "deleted";
    body.replaceChildren(h("p.empty.job-deleted", {}, "This job was deleted. ", h("a", { href: "#/" }, "Back to all jobs")));
    announce("This job was deleted.");
  }

  // ---- still running ---------------------------------------------------------
  function showRunning(attempt = 0) {
    const bar = h("progress#job-progress", { max: 100, value: 0, "aria-labelledby": "job-progress-label" });
    const label = h("span#job-progress-label", {}, "");
    const pct = h("span.num", {}, "");
    const cancel = h("button.button.secondary", { type: "button" }, "Cancel");
    const box = h("section.card.running", { "aria-label": "Progress" },
      h("div.progress-row", {}, label, pct), bar,
      h("p.muted", {}, "The transcript opens here by itself when it is ready. You can leave this page meanwhile."),
      h("div.form-actions", {}, cancel));
    body.replaceChildren(box);
    function show(j, live = true) {
      if (live) showError(alert, null); // news from the stream: an earlier error is over
      const f = jobProgress(j);
      label.textContent = j.status === "queued" ? "Waiting to start…" : j.options?.task === "translate" ? "Translating…" : "Transcribing…";
      bar.value = Math.round(f * 100);
      bar.textContent = pct.textContent = percent(f);
      root.dataset.status = j.status;
    }
    show(job, false);
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        const view = await deleteJob(id);
        const status = view.deleted ? "deleted" : view.status;
        announce(status === "cancelled" ? "Job cancelled." : status === "deleted" ? "The job had already finished, so it was deleted." : `The job had already ${status === "failed" ? "failed" : "finished"}; it was not cancelled.`);
      } catch (err) { fail(err, "Could not cancel the job"); cancel.disabled = false; }
    });
    (async () => {
      let heard = false;
      try {
        await followEvents(id, (_, view) => { if (!destroyed) { heard = true; show(view); } }, controller.signal);
      } catch (err) {
        if (destroyed || err.name === "AbortError") return;
        if (err.status === 404) { showDeleted(); return; }
        fail(err);
      }
      if (destroyed) return;
      try {
        job = await getJob(id);
      } catch (err) {
        if (destroyed) return;
        if (err.status === 404) showDeleted(); else fail(err);
        return;
      }
      if (destroyed) return;
      setMeta(job);
      if (job.status === "succeeded") { showError(alert, null); announce(`${jobTitle(job)} is ready.`); showFinished(); }
      else if (isActive(job)) {
        // follow again after 2 s, longer (at most 30 s) while the stream keeps failing
        const next = heard ? 0 : attempt + 1;
        const delay = Math.min(30000, 2000 * 2 ** Math.max(0, next - 1));
        setTimeout(() => { if (!destroyed) showRunning(next); }, delay);
      } else { showError(alert, null); showEnded(); }
    })();
  }

  function showEnded() {
    root.dataset.status = job.status;
    if (job.status === "failed") {
      alert.replaceChildren(h("strong.error-title", {}, "This job failed"), h("span.error-detail", {}, job.error?.message || "No reason was given."));
      alert.hidden = false;
    }
    body.replaceChildren(h("p.empty", {},
      job.status === "cancelled" ? "This job was cancelled before it finished, so there is no transcript." : "There is no transcript for this job.",
      " ", h("a", { href: "#/" }, "Add a new recording")));
  }

  // ---- finished: player, transcript, subtitles, speakers, downloads ------------
  function showFinished() {
    root.dataset.status = job.status;
    const links = job.links || {};
    const media = job.media || null;
    const video = media ? !!media.video : false;
    const player = h(video ? "video#player" : "audio#player", { controls: true, preload: "metadata" });
    const note = h("p.player-note#player-note", { hidden: true });
    const caption = h("div.caption#caption", { hidden: video, "aria-hidden": "true" });
    caption.classList.add("empty");
    let playable = !!links.media;
    if (links.media) {
      player.addEventListener("error", () => {
        playable = false;
        player.hidden = true;
        note.hidden = false;
        note.textContent = "This browser can't play this file, but the transcript and downloads work. Click a word to see its time.";
      });
      player.src = links.media;
    } else {
      player.hidden = true;
      note.hidden = false;
      note.textContent = "Playback isn't available for this job. The transcript and downloads still work.";
    }
    const playerBar = h("div.player-bar", { class: `player-bar${video ? " is-video" : ""}` }, h("div.player-wrap", {}, player, note), caption);

    // tabs
    const tabT = h("button#tab-transcript", { type: "button", role: "tab", "aria-selected": "true", "aria-controls": "panel-transcript" }, "Transcript");
    const tabS = h("button#tab-subtitles", { type: "button", role: "tab", "aria-selected": "false", "aria-controls": "panel-subtitles", tabindex: "-1" }, "Subtitles");
    const tablist = h("div.tabs", { role: "tablist", "aria-label": "Show" }, tabT, tabS);

    const search = h("input#search", { type: "search", placeholder: "Search transcript", autocomplete: "off", spellcheck: "false", enterkeyhint: "search" });
    const count = h("span#search-count.muted.num", { "aria-live": "polite" });
    const prev = h("button.button.ghost.icon-button#search-prev", { type: "button", "aria-label": "Previous", title: "Previous match (Shift+Enter)", disabled: true }, icon("up"));
    const next = h("button.button.ghost.icon-button#search-next", { type: "button", "aria-label": "Next", title: "Next match (Enter)", disabled: true }, icon("down"));
    const follow = h("button.button.ghost.small#follow", { type: "button", "aria-pressed": "true", title: "Keep the playing word in view" }, icon("follow"), "Follow");
    const toolbar = h("div.toolbar", {},
      h("div.search", {},
        h("label.sr-only", { for: "search" }, "Search transcript"),
        icon("search", "icon search-icon"), search, count, prev, next),
      follow);
    const transcriptEl = h("div#transcript.transcript", { "aria-busy": "true" }, h("p.loading", {}, "Loading the transcript…"));
    const panelT = h("section#panel-transcript.panel", { role: "tabpanel", "aria-labelledby": "tab-transcript" },
      h("h2.sr-only", {}, "Transcript"), toolbar, transcriptEl);

    const summary = h("p#cues-summary.cues-summary");
    const only = h("input#cues-problems-only", { type: "checkbox" });
    const cuesWrap = h("div.cues-wrap", {}, h("p.loading", {}, "Loading the subtitles…"));
    const panelS = h("section#panel-subtitles.panel", { role: "tabpanel", "aria-labelledby": "tab-subtitles", hidden: true },
      h("h2.sr-only", {}, "Subtitles"),
      h("div.cues-head", {}, summary,
        h("div.check", {}, only, h("label", { for: "cues-problems-only" }, "Only cues that need attention"))),
      cuesWrap);

    const side = h("aside.job-side", { "aria-label": "Speakers and downloads" });
    let speakersList = null;
    if (job.speakers) {
      speakersList = h("ul#speakers.speakers");
      side.append(h("section.card.side-card", { "aria-labelledby": "speakers-title" },
        h("h2#speakers-title", {}, "Speakers"),
        job.speakers.length ? speakersList : h("p.muted", {}, "No speakers were found.")));
    }
    const downloads = h("ul#downloads.downloads");
    side.append(h("section.card.side-card", { "aria-labelledby": "downloads-title" }, h("h2#downloads-title", {}, "Download"), downloads));

    body.replaceChildren(playerBar, h("div.job-layout", {}, h("div.job-content", {}, tablist, panelT, panelS), side));

    // tab behaviour (arrow keys move between tabs)
    function select(tab) {
      for (const [t, p] of [[tabT, panelT], [tabS, panelS]]) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        p.hidden = !on;
      }
      if (tab === tabS) { subtitlesWanted = true; subtitles?.show(); }
    }
    tabT.addEventListener("click", () => select(tabT));
    tabS.addEventListener("click", () => select(tabS));
    tablist.addEventListener("keydown", (e) => {
      if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) return;
      e.preventDefault();
      const to = e.key === "Home" ? tabT : e.key === "End" ? tabS : document.activeElement === tabT ? tabS : tabT;
      select(to);
      to.focus();
    });

    mountDownloads(downloads, job, fail);

    // player sync: one loop while playing, plus seek/timeupdate
    let virtual = 0;
    let transcript = null;
    let subtitles = null;
    let subtitlesWanted = false; // the Subtitles tab was shown: its list is built then
    const now = () => (playable && !player.error ? player.currentTime : virtual);
    function tick() {
      const t = now();
      transcript?.tick(t);
      subtitles?.tick(t);
    }
    function seek(t) {
      virtual = t;
      if (playable) {
        try { player.currentTime = t; } catch { /* not seekable yet */ }
      }
      transcript?.tick(t);
      subtitles?.tick(t);
    }
    let raf = 0;
    const loop = () => { tick(); raf = requestAnimationFrame(loop); };
    const onPlay = () => { if (!raf) raf = requestAnimationFrame(loop); };
    const onStop = () => { cancelAnimationFrame(raf); raf = 0; tick(); };
    player.addEventListener("play", onPlay);
    player.addEventListener("pause", onStop);
    player.addEventListener("ended", onStop);
    player.addEventListener("seeked", tick);
    player.addEventListener("timeupdate", () => { if (!raf) tick(); });
    cleanups.push(() => { cancelAnimationFrame(raf); player.pause?.(); player.removeAttribute("src"); });

    const limitsOf = () => ({ ...getConfig().subtitles, ...(job.options?.subtitle_line_chars ? { max_line_chars: job.options.subtitle_line_chars } : {}), ...(job.subtitles || {}) });

    (async () => {
      let data;
      try {
        data = await getTranscript(id);
        await loadConfig(); // asked for at start-up; long there by now
      } catch (err) {
        if (destroyed) return;
        transcriptEl.setAttribute("aria-busy", "false");
        transcriptEl.replaceChildren(h("p.empty", {}, "The transcript could not be loaded."));
        fail(err, "Could not load the transcript");
        return;
      }
      if (destroyed) return;
      transcript = mountTranscript(transcriptEl, data, {
        speakers: job.speakers,
        seek,
        getTime: now,
        isPaused: () => !playable || player.paused,
        search: { input: search, count, prev, next },
        followButton: follow,
      });
      transcriptEl.setAttribute("aria-busy", "false");
      cleanups.push(() => transcript.destroy());
      setMeta(job, data);
      tick();
      document.body.dataset.transcriptReady = "true";
      performance.mark("transcript-ready");

      const srclang = job.options?.task === "translate" ? "en" : languageCode(data.language || job.options?.language) || "en";
      subtitles = mountSubtitles({
        job, limits: limitsOf(), player, video, caption, wrap: cuesWrap, summary, onlyProblems: only, srclang, seek, onError: fail,
      });
      cleanups.push(() => subtitles.destroy());
      if (subtitlesWanted) subtitles.show();

      if (speakersList && job.speakers.length) {
        mountSpeakers(speakersList, {
          jobId: id,
          speakers: job.speakers,
          talk: transcript.talkTime(),
          total: data.duration || job.duration || 0,
          colorOf: (label) => transcript.speakerClass(label),
          onRenamed(updated) {
            job = { ...job, ...updated, links: job.links };
            for (const s of updated.speakers || []) transcript.setSpeakerName(s.label, s.name || s.label);
            subtitles.reload();
          },
        });
      }
    })();
  }

  start();
  return {
    destroy() {
      destroyed = true;
      controller.abort();
      for (const fn of cleanups) { try { fn(); } catch { /* already gone */ } }
    },
  };
}
