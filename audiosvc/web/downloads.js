// Download links for every format of a finished job. Without a key they are plain links;
// with one, a click fetches with the key and saves the file under the server's name.
import { getKey, saveDownload } from "./api.js";
import { announce, h, icon } from "./dom.js";

const FORMATS = [
  ["transcript_text", "Text", ".txt", "Plain text"],
  ["transcript_srt", "SRT", ".srt", "Subtitles"],
  ["transcript_vtt", "VTT", ".vtt", "Web subtitles"],
  ["transcript_json", "JSON", ".json", "Text only"],
  ["transcript_verbose_json", "Verbose JSON", ".json", "Segments and words"],
  ["transcript_diarized_json", "Diarized JSON", ".json", "Speaker turns"],
  ["speech", "Spoken reply", "", "Audio"],
];

export function mountDownloads(list, job, onError) {
  list.replaceChildren();
  const links = job.links || {};
  const stem = (job.filename || job.id).replace(/\.[^.]+$/, "");
  for (const [key, name, ext, desc] of FORMATS) {
    const href = links[key];
    if (!href) continue;
    const a = h("a.download", { href, download: "" },
      icon("download"), h("span.sr-only", {}, "Download "), h("span.download-name", {}, name));
    const fallback = `${stem}${ext || ".mp3"}`;
    a.addEventListener("click", async (e) => {
      if (!getKey()) return; // the browser downloads it (Content-Disposition names it)
      e.preventDefault();
      a.setAttribute("aria-busy", "true");
      try {
        const saved = await saveDownload(href, fallback);
        announce(`Downloaded ${saved}.`);
      } catch (err) {
        onError(err, `Could not download ${name}`);
      } finally {
        a.removeAttribute("aria-busy");
      }
    });
    list.append(h("li", {}, a, h("span.download-desc.muted", {}, ext ? `${desc}, ${ext}` : desc)));
  }
}
