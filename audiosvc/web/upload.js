// The upload panel: file (drop zone or picker) or link, options, checks, upload progress.
import { createJob, getConfig } from "./api.js";
import { ApiError } from "./errors.js";
import { announce, showError } from "./dom.js";
import { formatBytes, percent } from "./format.js";

const NUM_SPEAKER_CHOICES = 10;

/** Wire the form inside `root`; onCreated(job) is called with the new job view. */
export function mountUpload(root, { onCreated }) {
  const cfg = getConfig();
  const $ = (id) => root.querySelector(`#${id}`);
  const form = $("upload-form");
  const input = $("file-input");
  const zone = $("drop-zone");
  const url = $("url-input");
  const language = $("language");
  const diarize = $("diarize");
  const numSpeakers = $("num-speakers");
  const lineChars = $("line-chars");
  const error = $("form-error");
  const submit = $("submit");
  const box = $("upload-box");
  const bar = $("upload-progress");
  const pct = $("upload-percent");
  const label = $("upload-label");
  let upload = null;

  // Options from the config.
  for (const lang of [...(cfg.languages || [])].sort((a, b) => a.name.localeCompare(b.name))) {
    language.append(new Option(lang.name, lang.code));
  }
  const maxSpeakers = Math.min(NUM_SPEAKER_CHOICES, cfg.speakers?.max || NUM_SPEAKER_CHOICES);
  for (let n = 1; n <= maxSpeakers; n++) numSpeakers.append(new Option(String(n), String(n)));
  const sub = cfg.subtitles;
  lineChars.min = String(sub.line_chars_min ?? 16);
  lineChars.max = String(sub.line_chars_max ?? 80);
  lineChars.value = String(sub.max_line_chars ?? 42);
  const hint = root.querySelector("#drop-hint");
  if (cfg.max_upload_bytes) hint.textContent = `Audio or video, up to ${formatBytes(cfg.max_upload_bytes)}`;

  function syncSpeakers() {
    const translate = form.elements.task.value === "translate";
    diarize.disabled = translate;
    root.querySelector("#diarize-hint").textContent = translate
      ? "Speakers are found for transcriptions only."
      : "Label who speaks when; you can name them later.";
    numSpeakers.disabled = translate || !diarize.checked;
  }
  diarize.addEventListener("change", syncSpeakers);
  form.addEventListener("change", (e) => { if (e.target.name === "task") syncSpeakers(); });
  syncSpeakers();

  // File chosen / cleared.
  function showFile() {
    const file = input.files && input.files[0];
    $("file-chosen").hidden = !file;
    zone.classList.toggle("has-file", !!file);
    if (file) {
      $("file-name").textContent = file.name;
      $("file-size").textContent = formatBytes(file.size);
      if (url.value) url.value = "";
      const tooBig = checkSize(file);
      showError(error, tooBig);
    }
  }
  input.addEventListener("change", () => { showError(error, null); showFile(); });
  // Enter opens the picker too (Space does natively).
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); input.click(); } });
  $("file-clear").addEventListener("click", () => {
    input.value = "";
    showFile();
    showError(error, null);
    input.focus();
  });
  url.addEventListener("input", () => {
    if (url.value.trim() && input.files && input.files.length) { input.value = ""; showFile(); }
    showError(error, null);
  });

  function checkSize(file) {
    const max = cfg.max_upload_bytes;
    if (max && file.size > max) {
      return new ApiError({
        status: 413,
        message: `${file.name} is ${formatBytes(file.size)}; this service takes files up to ${formatBytes(max)}.`,
      });
    }
    return null;
  }

  // Drag and drop onto the zone (the input also accepts drops natively).
  let depth = 0;
  zone.addEventListener("dragenter", (e) => { e.preventDefault(); depth++; zone.classList.add("dragging"); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = "copy"; });
  zone.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove("dragging"); });
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    takeFiles(e.dataTransfer && e.dataTransfer.files);
  });
  function takeFiles(files) {
    if (!files || !files.length) return;
    try { input.files = files; } catch { return; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function setBusy(busy) {
    submit.disabled = busy;
    box.hidden = !busy;
    form.classList.toggle("busy", busy);
  }

  function progress(loaded, total) {
    const f = total ? loaded / total : 0;
    bar.value = Math.round(f * 100);
    bar.textContent = percent(f);
    pct.textContent = percent(f);
    label.textContent = f >= 1 ? "Upload complete, starting…" : `Uploading… ${formatBytes(loaded)} of ${formatBytes(total)}`;
  }

  $("upload-cancel").addEventListener("click", () => { if (upload) upload.abort(); });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (upload) return;
    showError(error, null);
    const file = input.files && input.files[0];
    const link = url.value.trim();
    if (!file && !link) {
      showError(error, new ApiError({ status: 400, message: "Choose an audio or video file, drop one on the box, or paste a link." }), "Nothing to transcribe yet");
      input.focus();
      return;
    }
    if (!file && !/^https?:\/\/\S+$/i.test(link)) {
      showError(error, new ApiError({ status: 400, param: "url", message: "Paste a full web address starting with http:// or https://." }), "That link can't be used");
      url.focus();
      return;
    }
    if (file) {
      const tooBig = checkSize(file);
      if (tooBig) { showError(error, tooBig); return; }
    }
    const lc = Number(lineChars.value);
    const lo = Number(lineChars.min);
    const hi = Number(lineChars.max);
    if (lineChars.value !== "" && (!Number.isInteger(lc) || lc < lo || lc > hi)) {
      showError(error, new ApiError({ status: 400, message: `Subtitle line length must be a whole number from ${lo} to ${hi}.` }), "Check the subtitle line length");
      lineChars.focus();
      return;
    }

    const data = new FormData();
    if (file) data.append("file", file, file.name); else data.append("url", link);
    const task = form.elements.task.value || "transcribe";
    data.append("task", task);
    if (language.value) data.append("language", language.value);
    if (diarize.checked && !diarize.disabled) {
      data.append("diarize", "true");
      if (numSpeakers.value) data.append("num_speakers", numSpeakers.value);
    }
    if (lineChars.value !== "" && lc !== (cfg.subtitles.max_line_chars ?? 42)) {
      data.append("subtitle_line_chars", String(lc));
    }

    setBusy(true);
    progress(0, file ? file.size : 0);
    if (!file) label.textContent = "Sending the link…";
    upload = createJob(data, progress);
    try {
      const job = await upload.promise;
      input.value = "";
      url.value = "";
      showFile();
      announce(`${file ? file.name : "Link"} added. ${task === "translate" ? "Translating" : "Transcribing"} now.`);
      onCreated(job);
    } catch (err) {
      if (err && err.name === "AbortError") announce("Upload cancelled.");
      else showError(error, err);
    } finally {
      upload = null;
      setBusy(false);
    }
  });

  return {
    takeFiles,
    destroy() { if (upload) upload.abort(); },
  };
}
