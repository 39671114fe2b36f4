"""One static HTML page for a platform team's view of a fleet (`evtgen check --html`).

The page is readable without a server and without JavaScript (the table is written
out in full); with JavaScript, headers sort and the search box and status menu
filter. The view is kept in the address's fragment (`#q=...&status=...&sort=...`),
so a filtered, sorted view can be bookmarked and shared.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evtgen.commands.check import CheckReport
    from evtgen.commands.contract_check import ContractReport

STATUSES = ("up to date", "behind", "drifted", "behind and drifted", "failed")


@dataclass
class LayerRow:
    template: str
    answers_file: str
    version: str | None
    newest: str | None

    @property
    def behind(self) -> bool:
        return self.newest is not None and self.version != self.newest


@dataclass
class FleetRow:
    repo: str
    status: str  # one of STATUSES
    layers: list[LayerRow] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # "changed: src/app.py", ...
    detail: str = ""  # why a check failed


def fleet_rows(report: CheckReport) -> list[FleetRow]:
    """The page's rows from `evtgen check`'s report."""
    rows = []
    for repo in report.repos:
        drifted = bool(repo.missing or repo.changed)
        status = {"up-to-date": "up to date", "drifted": "drifted", "failed": "failed"}.get(
            repo.status, "behind and drifted" if drifted else "behind"
        )
        rows.append(
            FleetRow(
                repo=repo.path,
                status=status,
                layers=[
                    LayerRow(layer.template, layer.answers_file, layer.version, layer.newest)
                    for layer in repo.layers
                ],
                drift=[f"missing: {p}" for p in repo.missing]
                + [f"changed: {p}" for p in repo.changed],
                detail=repo.reason,
            )
        )
    return rows


def context_map_html(report: ContractReport) -> str:
    """The fleet's context map: which repo's events which repo reads, and whether
    the contract holds there (`evtgen contract check`'s meetings), as a table, with
    its Mermaid source for a viewer that draws it."""
    from evtgen.contextmap import map_mermaid

    if not report.meetings:
        return ""
    broken = {(f.producer, f.consumer, f.channel) for f in report.findings}
    rows = "\n".join(
        f"<tr><td>{html.escape(m.producer)}</td><td>{html.escape(m.consumer)}</td>"
        f"<td>{html.escape(m.event)}</td><td><code>{html.escape(m.channel)}</code></td>"
        f"<td>{'holds' if (m.producer, m.consumer, m.channel) not in broken else 'BREAKS'}"
        "</td></tr>"
        for m in report.meetings
    )
    names = list(dict.fromkeys(n for m in report.meetings for n in (m.producer, m.consumer)))
    edges = [(m.producer, m.consumer, m.event, False) for m in report.meetings]
    source = map_mermaid([(n, n) for n in names], edges)
    return (
        '<section id="context-map"><h2>Context map</h2>\n'
        "<table><thead><tr><th>producer</th><th>consumer</th><th>event</th>"
        f"<th>channel</th><th>contract</th></tr></thead><tbody>\n{rows}\n</tbody></table>\n"
        f'<details><summary>Mermaid</summary><pre class="mermaid">{html.escape(source)}</pre>'
        "</details></section>"
    )


def fleet_page(rows: list[FleetRow], title: str = "evtgen fleet", context_map: str = "") -> str:
    data = json.dumps([_row_data(row) for row in rows]).replace("</", "<\\/")
    body = "\n".join(_row_html(row) for row in rows)
    counts = " · ".join(
        f"{sum(row.status == status for row in rows)} {status}" for status in STATUSES
    )
    options = "".join(f'<option value="{s}">{s}</option>' for s in STATUSES)
    return _PAGE.format(
        title=html.escape(title),
        total=len(rows),
        counts=html.escape(counts),
        options=options,
        rows=body,
        data=data,
        context_map=context_map,
    )


def _row_data(row: FleetRow) -> dict[str, object]:
    layers = [{**asdict(layer), "behind": layer.behind} for layer in row.layers]
    return {**asdict(row), "layers": layers}


def _row_html(row: FleetRow) -> str:
    layers = "<br>".join(
        f"{html.escape(layer.template)} <code>{html.escape(layer.version or '?')}</code>"
        + (f" → <code>{html.escape(layer.newest)}</code>" if layer.behind and layer.newest else "")
        + f' <span class="file">({html.escape(layer.answers_file)})</span>'
        for layer in row.layers
    )
    newest = "<br>".join(html.escape(layer.newest or "?") for layer in row.layers)
    drift = (
        f"<details><summary>{len(row.drift)} files</summary>"
        + "<br>".join(html.escape(item) for item in row.drift)
        + "</details>"
        if row.drift
        else "none"
    )
    detail = f'<div class="detail">{html.escape(row.detail)}</div>' if row.detail else ""
    status_class = row.status.replace(" ", "-")
    return (
        f'<tr data-status="{html.escape(row.status)}">'
        f"<td>{html.escape(row.repo)}</td>"
        f'<td class="status {status_class}">{html.escape(row.status)}{detail}</td>'
        f"<td>{layers}</td><td>{newest}</td><td>{drift}</td></tr>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left;
  vertical-align: top; }}
th {{ cursor: pointer; user-select: none; background: #f4f4f4; }}
th[aria-sort=ascending]::after {{ content: " ▲"; }}
th[aria-sort=descending]::after {{ content: " ▼"; }}
.status.up-to-date {{ color: #176317; }}
.status.behind, .status.drifted, .status.behind-and-drifted {{ color: #8a5a00; }}
.status.failed {{ color: #a31515; font-weight: bold; }}
.file, .detail {{ color: #666; font-size: .85em; }}
.controls {{ margin: 1rem 0; display: flex; gap: 1rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p id="summary">{total} repositories: {counts}</p>
<div class="controls">
<label>Search <input id="q" type="search" placeholder="repository, template, file"></label>
<label>Status <select id="status"><option value="">any</option>{options}</select></label>
<span id="shown"></span>
</div>
<table>
<thead><tr>
<th data-key="repo">Repository</th><th data-key="status">Status</th>
<th data-key="layers">Template layers (version)</th><th data-key="newest">Newest release</th>
<th data-key="drift">Drifted files</th>
</tr></thead>
<tbody id="rows">
{rows}
</tbody>
</table>
{context_map}
<script id="fleet-data" type="application/json">{data}</script>
<script>
(function () {{
  const data = JSON.parse(document.getElementById("fleet-data").textContent);
  const tbody = document.getElementById("rows");
  const originalRows = Array.from(tbody.rows);
  const q = document.getElementById("q");
  const status = document.getElementById("status");
  const shown = document.getElementById("shown");
  const headers = Array.from(document.querySelectorAll("th[data-key]"));
  let sortKey = "", sortDir = 1;
  const sortValue = {{
    repo: (r) => r.repo,
    status: (r) => r.status,
    layers: (r) => r.layers.map((l) => l.template + " " + (l.version || "")).join(" "),
    newest: (r) => r.layers.map((l) => l.newest || "").join(" "),
    drift: (r) => r.drift.length,
  }};
  const text = (r) => [r.repo, r.status, r.detail, ...r.drift,
    ...r.layers.flatMap((l) => [l.template, l.version || "", l.answers_file])]
    .join(" ").toLowerCase();
  function readHash() {{
    const params = new URLSearchParams(location.hash.slice(1));
    q.value = params.get("q") || "";
    status.value = params.get("status") || "";
    sortKey = params.get("sort") || "";
    sortDir = params.get("dir") === "desc" ? -1 : 1;
  }}
  function writeHash() {{
    const params = new URLSearchParams();
    if (q.value) params.set("q", q.value);
    if (status.value) params.set("status", status.value);
    if (sortKey) {{ params.set("sort", sortKey); if (sortDir < 0) params.set("dir", "desc"); }}
    history.replaceState(null, "", "#" + params.toString());
  }}
  function render() {{
    const needle = q.value.trim().toLowerCase();
    let order = data.map((row, i) => i).filter((i) =>
      (!status.value || data[i].status === status.value) &&
      (!needle || text(data[i]).includes(needle)));
    if (sortValue[sortKey]) {{
      const key = sortValue[sortKey];
      order.sort((a, b) => {{
        const x = key(data[a]), y = key(data[b]);
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      }});
    }}
    tbody.replaceChildren(...order.map((i) => originalRows[i]));
    headers.forEach((th) => th.setAttribute("aria-sort",
      th.dataset.key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none"));
    shown.textContent = order.length + " of " + data.length + " shown";
  }}
  headers.forEach((th) => th.addEventListener("click", () => {{
    sortDir = sortKey === th.dataset.key ? -sortDir : 1;
    sortKey = th.dataset.key;
    writeHash(); render();
  }}));
  q.addEventListener("input", () => {{ writeHash(); render(); }});
  status.addEventListener("change", () => {{ writeHash(); render(); }});
  window.addEventListener("hashchange", () => {{ readHash(); render(); }});
  readHash(); render();
}})();
</script>
</body>
</html>
"""
