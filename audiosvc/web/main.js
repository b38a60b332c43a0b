// Entry: loads the config, wires the API key prompt, and routes between the two views:
// "#/" (upload + jobs), "#/jobs/<id>" (one job's transcript) and "#/live" (live captions and
// the voice bot).
import { getKey, loadConfig, onAuthError } from "./api.js";
import { mountKeyDialog } from "./keydialog.js";
import { mountUpload } from "./upload.js";
import { mountJobs } from "./jobs.js";
import { mountJobView } from "./jobview.js";
import { mountLive } from "./live.js";

const main = document.getElementById("main");
let current = null; // { destroy() } of the mounted view
let firstRender = true;

function route() {
  if (/^#\/live\/?$/.test(location.hash)) return { name: "live" };
  const m = /^#\/jobs\/([^/?#]+)/.exec(location.hash);
  return m ? { name: "job", id: decodeURIComponent(m[1]) } : { name: "home" };
}

function homeView() {
  const fragment = document.getElementById("home-template").content.cloneNode(true);
  const root = fragment.firstElementChild;
  main.replaceChildren(root);
  const jobs = mountJobs(root);
  const upload = mountUpload(root, { onCreated: (job) => jobs.add(job) });
  jobs.refresh();
  return {
    root,
    takeFiles: upload.takeFiles,
    destroy() { upload.destroy(); jobs.destroy(); },
  };
}

function render() {
  if (current) current.destroy();
  const r = route();
  document.body.dataset.view = r.name;
  delete document.body.dataset.transcriptReady;
  current = r.name === "job" ? mountJobView(main, r.id) : r.name === "live" ? mountLive(main) : homeView();
  document.title = r.name === "job" ? "Transcript · audiosvc"
    : r.name === "live" ? "Live · audiosvc" : "audiosvc · Transcribe audio and video";
  const here = r.name === "live" ? "#/live" : r.name === "home" ? "#/" : null;
  for (const a of document.querySelectorAll(".site-nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === here);
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  if (!firstRender) {
    window.scrollTo(0, 0);
    const title = main.querySelector("h1");
    if (title) { title.setAttribute("tabindex", "-1"); title.focus({ preventScroll: true }); }
  }
  firstRender = false;
}

async function start() {
  const configured = loadConfig();
  const keys = mountKeyDialog({ onChange: () => render() });
  onAuthError((err) => { keys.showButton(true); keys.open(getKey() ? err : null); });

  // Skip link: focus <main> without touching the hash (the router owns it).
  document.getElementById("skip-link").addEventListener("click", (e) => {
    e.preventDefault();
    const target = main.querySelector("h1") || main;
    target.setAttribute("tabindex", "-1");
    target.focus();
  });

  // A file dropped anywhere on the home page is taken; elsewhere the browser must not
  // navigate away to it.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    const handled = e.defaultPrevented; // the drop zone took it already
    e.preventDefault();
    if (!handled && current && current.takeFiles) current.takeFiles(e.dataTransfer && e.dataTransfer.files);
  });
  window.addEventListener("hashchange", render);

  // A job's page needs no config to start loading; the upload form does.
  if (route().name === "job") render();
  const cfg = await configured;
  if (cfg.version) document.getElementById("version").textContent = `v${cfg.version}`;
  keys.showButton(cfg.auth_required || !!getKey());
  if (firstRender) render();
  if (cfg.auth_required && !getKey()) keys.open();
}

window.addEventListener("unhandledrejection", (e) => {
  // Every API error is caught where it happens; this is a last guard so a stray one
  // never surfaces as an uncaught error.
  if (e.reason && (e.reason.name === "ApiError" || e.reason.name === "AbortError")) e.preventDefault();
});

start();
