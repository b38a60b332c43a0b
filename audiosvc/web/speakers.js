// The speaker list of a diarized job, with inline rename (PATCH /v1/jobs/{id}/speakers).
import { renameSpeakers } from "./api.js";
import { announce, h, showError } from "./dom.js";
import { formatClock } from "./format.js";

/**
 * list: the #speakers <ul>. speakers: [{label, name}]. talk: Map label → seconds.
 * colorOf(label) → css class. onRenamed(job) after a successful rename.
 */
const MAX_NAME = 64;
// characters a name can't hold: markup and control characters
const BAD_CHARS = /[<>&\u0000-\u001f\u007f-\u009f]/;

/** Why `name` can't be the name of speaker `label` (null when it can). */
function nameProblem(name, label, speakers) {
  if (!name) return "Enter a name, or press Cancel to keep the current one.";
  if (name.length > MAX_NAME) return `Use at most ${MAX_NAME} characters (this one has ${name.length}).`;
  if (BAD_CHARS.test(name)) return "A name can't contain <, > or &, or control characters.";
  const taken = speakers.find((s) => s.label !== label && (s.name || s.label).trim().toLowerCase() === name.toLowerCase());
  if (taken) return `Speaker ${taken.label} is already called “${taken.name || taken.label}”.`;
  return null;
}

export function mountSpeakers(list, { jobId, speakers, talk, total, colorOf, onRenamed }) {
  let current = speakers.map((s) => ({ ...s }));
  list.replaceChildren();

  current.forEach((sp, position) => {
    const label = sp.label;
    // ids from the speaker's position: labels such as "A B" and "A_B" would collide
    const safe = String(position);
    const nameEl = h("span.speaker-display", { id: `speaker-name-${safe}` }, sp.name || label);
    const secs = talk?.get(label) || 0;
    const share = total > 0 ? Math.round((secs / total) * 100) : 0;
    const stats = h("span.speaker-stats.muted", {}, secs ? `${formatClock(secs)} · ${share}%` : "");
    const labelTag = h("span.speaker-label.muted", { "aria-hidden": "true" }, `Speaker ${label}`);
    const rename = h("button.button.ghost.small", { type: "button", "aria-describedby": `speaker-name-${safe}` }, "Rename");
    const input = h("input", { id: `rename-${safe}`, type: "text", maxLength: MAX_NAME, autocomplete: "off", spellcheck: "false" });
    const error = h("div.alert.small-alert", { id: `rename-error-${safe}`, role: "alert", hidden: true });
    function setInvalid(err, title) {
      showError(error, err, title);
      if (err) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", error.id);
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }
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
      setInvalid(null);
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
    input.addEventListener("input", () => { if (input.hasAttribute("aria-invalid")) setInvalid(null); });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      const problem = nameProblem(name, label, current);
      if (problem) {
        setInvalid(new Error(problem), "That name can't be used");
        input.focus();
        return;
      }
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
        setInvalid(err, err.status === 400 ? "That name can't be used" : undefined);
        input.focus();
      } finally {
        save.disabled = false;
      }
    });
  });
}
