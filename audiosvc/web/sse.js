// A small Server-Sent Events parser (the text/event-stream format), fed with text chunks.

/** Returns feed(text) which calls onEvent({event, data, id}) for each complete event. */
export function createSseParser(onEvent) {
  let buffer = "";
  let event = "";
  let data = [];
  let id = "";
  function line(raw) {
    if (raw === "") {
      if (data.length) onEvent({ event: event || "message", data: data.join("\n"), id });
      event = "";
      data = [];
      return;
    }
    if (raw.startsWith(":")) return; // comment (keep-alive)
    const colon = raw.indexOf(":");
    const field = colon < 0 ? raw : raw.slice(0, colon);
    let value = colon < 0 ? "" : raw.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  return function feed(text) {
    buffer += text;
    let start = 0;
    for (;;) {
      const nl = buffer.slice(start).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const end = start + nl;
      // a lone \r at the very end may be half of \r\n: wait for more
      if (buffer[end] === "\r" && end + 1 === buffer.length) break;
      line(buffer.slice(start, end));
      start = end + (buffer[end] === "\r" && buffer[end + 1] === "\n" ? 2 : 1);
    }
    buffer = buffer.slice(start);
  };
}
