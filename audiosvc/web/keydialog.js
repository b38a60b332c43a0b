// The API key prompt: a modal dialog; the key lives in sessionStorage (see api.js).
import { getKey, setKey } from "./api.js";
import { announce, showError } from "./dom.js";

export function mountKeyDialog({ onChange }) {
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  const error = document.getElementById("key-error");
  const forget = document.getElementById("key-forget");
  const button = document.getElementById("key-button");

  function open(err) {
    if (err) showError(error, err, "That API key was not accepted");
    else if (!dialog.open) showError(error, null);
    // Already open: only the message changes; what is being typed stays, and so does focus.
    if (dialog.open) return;
    input.value = getKey();
    forget.hidden = !getKey();
    if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
    input.focus();
    input.select();
  }

  function close() {
    if (dialog.open) { if (typeof dialog.close === "function") dialog.close(); else dialog.removeAttribute("open"); }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      showError(error, new Error("Paste the key you were given."), "Enter an API key");
      input.focus();
      return;
    }
    setKey(key);
    close();
    onChange();
  });
  document.getElementById("key-cancel").addEventListener("click", close);
  forget.addEventListener("click", () => {
    setKey("");
    input.value = "";
    forget.hidden = true;
    showError(error, null);
    announce("API key forgotten.");
    input.focus();
    onChange();
  });
  button.addEventListener("click", () => open());

  return {
    open,
    showButton(show) { button.hidden = !show; },
    isOpen: () => dialog.open,
  };
}
