// Server-sent events read over fetch (so the bearer header can be sent), for the console and the board.
// readEventStream(response, onEvent) reads the body to its end and calls onEvent with each event's
// parsed JSON data; it resolves when the stream closes and rejects when reading or onEvent fails.
"use strict";
async function readEventStream(response, onEvent) {
  const reader = response.body.getReader(); const decoder = new TextDecoder(); let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      const data = chunk.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}
