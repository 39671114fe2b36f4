// Parses a Mermaid diagram (stdin) with Mermaid's own parser and prints what it
// read as JSON: {vertices: {id: text}, edges: [[start, end, text]], subgraphs:
// [{id, title, nodes}]}, texts as the rendered diagram shows them. Exit 1 with the parser's message when it does not parse.
// Mermaid needs a DOM (DOMPurify), so jsdom provides one.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

// Mermaid keeps entity codes (#quot;, #35;) encoded until it renders; decode them as
// its renderer does, so the texts printed are what a reader of the diagram sees.
function shown(text) {
  const html = String(text ?? "")
    .replace(/ﬂ°°/g, "&#")
    .replace(/ﬂ°/g, "&")
    .replace(/¶ß/g, ";");
  const box = document.createElement("textarea");
  box.innerHTML = html;
  return box.value;
}

let text = "";
for await (const chunk of process.stdin) text += chunk;
try {
  await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db;
  const vertices = {};
  for (const [id, v] of db.getVertices()) vertices[id] = { text: shown(v.text), type: v.type ?? null };
  const edges = db.getEdges().map((e) => [e.start, e.end, shown(e.text)]);
  const subgraphs = db.getSubGraphs().map((s) => ({ id: s.id, title: shown(s.title), nodes: s.nodes }));
  console.log(JSON.stringify({ type: diagram.type, vertices, edges, subgraphs }));
} catch (err) {
  console.error(String(err.message ?? err).split("\n").slice(0, 3).join(" "));
  process.exit(1);
}
