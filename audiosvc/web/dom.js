// Small DOM helpers shared by the views: element builder, announcements, error boxes.
import { errorDetail, errorTitle } from "./errors.js";
import { getConfig } from "./api.js";

/** h("button.primary#go", {type: "button", onclick}, "Text", child...) */
export function h(tag, attrs = {}, ...children) {
  const [, name, rest] = /^([a-z0-9-]+)(.*)$/i.exec(tag);
  const el = document.createElement(name);
  for (const m of rest.matchAll(/([.#])([\w-]+)/g)) {
    if (m[1] === "#") el.id = m[2]; else el.classList.add(m[2]);
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "html") el.innerHTML = v;
    else if (k in el && typeof v !== "string" && k !== "list") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

let announceTimer = 0;
/** Say something in the polite live region (and show it as a toast). */
export function announce(message) {
  const region = document.getElementById("status");
  if (!region) return;
  region.textContent = "";
  // a fresh text node so repeated messages are read again
  requestAnimationFrame(() => { region.textContent = message; });
  region.classList.add("show");
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => region.classList.remove("show"), 4000);
}

/** Fill a role=alert box with a titled error (or clear it with null). */
export function showError(box, err, title) {
  if (!box) return;
  box.replaceChildren();
  if (!err) { box.hidden = true; return; }
  const heading = title || errorTitle(err, getConfig());
  const detail = errorDetail(err);
  box.append(h("strong.error-title", {}, heading));
  // the space keeps "title. detail" apart for screen readers and textContent
  if (detail && detail !== heading) box.append(" ", h("span.error-detail", {}, detail));
  box.hidden = false;
}

/** An inline SVG icon from a small set (currentColor, aria-hidden). */
const ICONS = {
  upload: '<path d="M12 16V4m0 0-5 5m5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3"/>',
  back: '<path d="M15 6l-6 6 6 6"/>',
  play: '<path d="M8 5v14l11-7z" fill="currentColor" stroke="none"/>',
  search: '<circle cx="11" cy="11" r="6"/><path d="m20 20-4.5-4.5"/>',
  up: '<path d="m6 15 6-6 6 6"/>',
  down: '<path d="m6 9 6 6 6-6"/>',
  x: '<path d="M6 6l12 12M18 6 6 18"/>',
  key: '<circle cx="8" cy="15" r="4"/><path d="m11 12 9-9m-3 3 3 3m-6 0 2 2"/>',
  download: '<path d="M12 4v12m0 0-5-5m5 5 5-5M4 20h16"/>',
  follow: '<path d="M12 5v14m0 0-6-6m6 6 6-6"/>',
  file: '<path d="M14 3H6a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8z"/><path d="M14 3v5h5"/>',
  link: '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
  pencil: '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
  trash: '<path d="M5 7h14M10 7V4h4v3m-7 0 1 13h8l1-13"/>',
};
export function icon(name, cls = "icon") {
  const span = document.createElement("span");
  span.className = cls;
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" focusable="false">${ICONS[name] || ""}</svg>`;
  return span;
}

export function prefersReducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
