// The speaker list of a diarized job, with inline rename (PATCH /v1/jobs/{id}/speakers).
import { renameSpeakers } from "./api.js";
import { announce, h, showError } from "./dom.js";
import { formatClock } from "./format.js";

/**
 * list: the #speakers <ul>. speakers: [{label, name}]. talk: Map label → seconds.
 * colorOf(label) → css class. onRenamed(job) after a successful rename.
 */
export function mountSpeakers(list, { jobId, speakers, talk, total, colorOf, onRenamed }) {
  let current = speakers.map((s) => ({ ...s }));
  list.replaceChildren();

  for (const sp of current) {
    const label = sp.label;
    const safe = label.replace(/[^\w-]/g, "_");
    const nameEl = h("span.speaker-display", { id: `speaker-name-${safe}` }, sp.name || label);
    const secs = talk?.get(label) || 0;
    const share = total > 0 ? Math.round((secs / total) * 100) : 0;
    const stats = h("span.speaker-stats.muted", {}, secs ? `${formatClock(secs)} · ${share}%` : "");
    const labelTag = h("span.speaker-label.muted", { "aria-hidden": "true" }, `Speaker ${label}`);
    const rename = h("button.button.ghost.small", { type: "button", "aria-describedby": `speaker-name-${safe}` }, "Rename");
    const input = h("input", { id: `rename-${safe}`, type: "text", maxLength: 64, autocomplete: "off", spellcheck: "false" });
    const error = h("div.alert.small-alert", { role: "alert", hidden: true });
    const save = h("button.button.primary.small", { type: "submit" }, "Save");
    const cancel = h("button.button.secondary.small", { type: "button" }, "Cancel");
    const form = h("form.rename-form", { hidden: true },
      h("label", { for: `rename-${safe}` }, `Name for speaker ${label}`),
      input, h("div.rename-actions", {}, save, cancel), error);
    const row = h("div.speaker-row", {},
      h("span", { class: `swatch ${colorOf(label)}`, "aria-hidden": "true" }),
      h("div.speaker-text", {}, nameEl, h("div.speaker-sub", {}, labelTag, stats)),
      rename);
    const li = h("li.speaker", { dataset: { speaker: label } }, row, form);
    list.append(li);

    function openForm() {
      form.hidden = false;
      row.hidden = true;
      showError(error, null);
      const now = current.find((s) => s.label === label);
      input.value = now && now.name !== label ? now.name : "";
      input.placeholder = `Speaker ${label}`;
      input.focus();
      input.select();
    }
    function closeForm() {
      form.hidden = true;
      row.hidden = false;
      rename.focus();
    }
    rename.addEventListener("click", openForm);
    cancel.addEventListener("click", closeForm);
    input.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); closeForm(); } });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      save.disabled = true;
      try {
        const job = await renameSpeakers(jobId, { [label]: name || null });
        current = (job.speakers || current).map((s) => ({ ...s }));
        for (const s of current) {
          const el = list.querySelector(`li[data-speaker="${CSS.escape(s.label)}"] .speaker-display`);
          if (el) el.textContent = s.name || s.label;
        }
        closeForm();
        announce(name ? `Saved: speaker ${label} is now ${name}.` : `Saved: speaker ${label} has no name.`);
        onRenamed(job);
      } catch (err) {
        showError(error, err, err.status === 400 ? "That name can't be used" : undefined);
        input.focus();
      } finally {
        save.disabled = false;
      }
    });
  }
}
