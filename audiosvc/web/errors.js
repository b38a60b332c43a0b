// API errors: the error class and the human title for each kind. Pure (no DOM).
import { formatBytes } from "./format.js";

export class ApiError extends Error {
  constructor({ status = 0, message = "", type = null, code = null, param = null, retryAfter = null } = {}) {
    super(message || "Request failed");
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.retryAfter = retryAfter;
  }
}

/** An ApiError from a response status, its body text and its retry-after header. */
export function errorFromBody(status, bodyText, retryAfter = null) {
  let e = null;
  try { e = JSON.parse(bodyText).error; } catch { /* not JSON */ }
  if (e && typeof e === "object") {
    return new ApiError({ status, message: e.message, type: e.type, code: e.code, param: e.param, retryAfter });
  }
  const fallback = status ? `The server answered ${status}.` : "No answer from the server.";
  return new ApiError({ status, message: fallback, retryAfter });
}

const MEDIA_CODES = /unsupported|media|not_audio|decode|format/i;

/** A short, human heading for an error. `limits.max_upload_bytes` for the size limit. */
export function errorTitle(err, limits = {}) {
  if (!(err instanceof ApiError)) return "Something went wrong";
  const s = err.status;
  if (s === 0) return "Can't reach the service";
  if (s === 401 || err.type === "authentication_error") return "API key not accepted";
  if (s === 403) return "Not allowed";
  if (s === 413) {
    return limits.max_upload_bytes
      ? `The file is too large (limit ${formatBytes(limits.max_upload_bytes)})`
      : "The file is too large";
  }
  if (s === 415 || (err.code && MEDIA_CODES.test(err.code))) return "This file is not audio or video";
  if (s === 429) return "Too many requests right now";
  if (s === 503) return "The service is busy or unavailable";
  if (s === 404) return "Not found";
  if (s === 409) return "Not ready yet";
  if (s >= 500) return "Something went wrong on the server";
  if (err.param === "url") return "That link can't be used";
  return "The request was not accepted";
}

/** The detail line under the title: the server's message, plus when to retry. */
export function errorDetail(err) {
  let text = (err && err.message) || "";
  if (err instanceof ApiError && err.status === 429 && err.retryAfter) {
    const secs = Number(err.retryAfter);
    text += ` Try again in ${Number.isFinite(secs) ? `${Math.ceil(secs)} s` : "a moment"}.`;
  }
  if (err instanceof ApiError && err.status === 0) text = text || "Check your connection and try again.";
  return text.trim();
}
