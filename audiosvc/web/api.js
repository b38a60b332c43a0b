// HTTP: the API key, JSON requests, errors, the upload with progress, the event stream.
import { ApiError, errorFromBody } from "./errors.js";
import { createSseParser } from "./sse.js";
import { dispositionFilename } from "./format.js";

const KEY = "audiosvc.apiKey";

export const DEFAULT_CONFIG = Object.freeze({
  auth_required: false,
  languages: [],
  max_upload_bytes: 0,
  speakers: { max: 32 },
  subtitles: { max_line_chars: 42, max_lines: 2, max_cue_seconds: 7, min_cue_seconds: 0.5, line_chars_min: 16, line_chars_max: 80 },
  version: "",
});

let config = { ...DEFAULT_CONFIG };
const authListeners = new Set();

export function getConfig() { return config; }

function storage() {
  try { return window.sessionStorage; } catch { return null; }
}
export function getKey() { return storage()?.getItem(KEY) || ""; }
export function setKey(key) {
  const s = storage();
  if (!s) return;
  if (key) s.setItem(KEY, key); else s.removeItem(KEY);
}

/** Called with the ApiError whenever the server refuses the key (401). */
export function onAuthError(fn) { authListeners.add(fn); return () => authListeners.delete(fn); }

function authHeaders(extra = {}) {
  const key = getKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function failed(err) {
  if (err.status === 401) for (const fn of authListeners) fn(err);
  return err;
}

let configPromise = null;
/** GET /v1/config (once); sane defaults when it is missing (older servers). Never throws. */
export function loadConfig() {
  if (!configPromise) configPromise = fetchConfig();
  return configPromise;
}
async function fetchConfig() {
  try {
    const res = await fetch("/v1/config", { headers: { Accept: "application/json" } });
    if (res.ok) {
      const body = await res.json();
      config = {
        ...DEFAULT_CONFIG,
        ...body,
        speakers: { ...DEFAULT_CONFIG.speakers, ...(body.speakers || {}) },
        subtitles: { ...DEFAULT_CONFIG.subtitles, ...(body.subtitles || {}) },
      };
    }
  } catch { /* offline or no endpoint: defaults */ }
  return config;
}

/** fetch() with the key; rejects with ApiError (status 0 when the network failed). */
export async function request(path, { method = "GET", body, headers = {}, signal, json = true } = {}) {
  let res;
  const h = authHeaders(json ? { Accept: "application/json", ...headers } : headers);
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
    payload = JSON.stringify(body);
    h["Content-Type"] = "application/json";
  }
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError({ status: 0, message: "The service could not be reached. Check your connection and try again." });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    throw failed(errorFromBody(res.status, text, res.headers.get("retry-after")));
  }
  return res;
}

export async function getJSON(path, opts) {
  const res = await request(path, opts);
  return res.json();
}

export const listJobs = (limit = 50) => getJSON(`/v1/jobs?limit=${limit}`);
export const getJob = (id) => getJSON(`/v1/jobs/${encodeURIComponent(id)}`);
export const deleteJob = (id) => getJSON(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
export const renameSpeakers = (id, names) =>
  getJSON(`/v1/jobs/${encodeURIComponent(id)}/speakers`, { method: "PATCH", body: names });
export const getTranscript = (id) =>
  getJSON(`/v1/jobs/${encodeURIComponent(id)}/transcript?format=verbose_json&timestamp_granularities=word`);
export async function getText(url, opts) {
  const res = await request(url, { ...opts, json: false });
  return res.text();
}

/**
 * POST /v1/jobs with XMLHttpRequest (for upload progress).
 * Returns { promise, abort }; promise resolves to the job view, rejects with ApiError or
 * with an Error named "AbortError" when cancelled.
 */
export function createJob(form, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", "/v1/jobs");
    const key = getKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try { resolve(JSON.parse(xhr.responseText)); } catch { reject(new ApiError({ status: xhr.status, message: "The server's answer was not understood." })); }
      } else {
        reject(failed(errorFromBody(xhr.status, xhr.responseText, xhr.getResponseHeader("retry-after"))));
      }
    };
    xhr.onerror = () => reject(new ApiError({ status: 0, message: "The upload was interrupted. Check your connection and try again." }));
    xhr.onabort = () => { const e = new Error("Upload cancelled"); e.name = "AbortError"; reject(e); };
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/**
 * Follow GET /v1/jobs/{id}/events: onEvent(name, jobView) for each event. Resolves when the
 * stream ends (or is aborted through `signal`); rejects with ApiError on an HTTP error.
 */
export async function followEvents(id, onEvent, signal) {
  const res = await request(`/v1/jobs/${encodeURIComponent(id)}/events`, {
    signal, headers: { Accept: "text/event-stream" }, json: false,
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const feed = createSseParser(({ event, data }) => {
    let job;
    try { job = JSON.parse(data); } catch { return; }
    onEvent(event, job);
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
    }
    feed(decoder.decode() + "\n\n");
  } catch (e) {
    if (e && e.name === "AbortError") return;
    throw new ApiError({ status: 0, message: "Lost the live connection to the job." });
  } finally {
    try { reader.releaseLock(); } catch { /* already released */ }
  }
}

/** Download a URL (with the key) and save it under the server's filename. */
export async function saveDownload(url, fallbackName) {
  const res = await request(url, { json: false });
  const blob = await res.blob();
  const name = dispositionFilename(res.headers.get("content-disposition"), fallbackName);
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30000);
  return name;
}

/** A blob: URL for a resource that needs the key (for <track>). */
export async function blobUrl(url) {
  const res = await request(url, { json: false });
  return URL.createObjectURL(await res.blob());
}
