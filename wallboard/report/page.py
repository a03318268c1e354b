"""One self-contained HTML page: plotly.js inlined once, each figure as a JSON island. Pure.

Nothing is fetched: no CDN, no web fonts, and a Content-Security-Policy that refuses any
request, so a copy mailed to a manager renders the same offline. Figures are kept as
``<script type="application/json" data-chart=...>`` blocks that one small script draws,
which also lets tests read the figures back without a browser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from wallboard.report.charts import Chart

# 'unsafe-eval': the full plotly.js bundle builds WebGL code at run time (none of our traces
# use it, but an interaction must never hit a CSP error). Nothing at all may be loaded.
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'unsafe-inline'; img-src data: blob:; font-src data:")

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0;
       background: #f4f5f7; color: #222; }
header { padding: 20px 32px 8px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
header p { margin: 0; color: #555; }
main { padding: 8px 32px 32px; display: grid; gap: 20px; }
section { background: white; border-radius: 8px; padding: 8px 12px;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.finding { margin: 4px 8px 8px; font-weight: 600; }
"""

# Draw every figure; mark the body once all are drawn, so a headless check knows when.
DRAW = """
const islands = document.querySelectorAll('script[type="application/json"][data-chart]');
Promise.all(Array.from(islands, (island) => {
  const figure = JSON.parse(island.textContent);
  return Plotly.newPlot(island.dataset.chart, figure.data, figure.layout,
                        {displaylogo: false, responsive: true});
})).then(() => { document.body.dataset.rendered = 'true'; });
"""


def script_safe(text: str) -> str:
    """Text that cannot end the ``<script>`` element it sits in."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def json_island(text: str) -> str:
    """JSON with every ``<`` escaped, so no string in it can close or open a tag."""
    return text.replace("<", "\\u003c")


def chart_section(chart: Chart) -> str:
    """One chart's element, its finding, and its figure as JSON."""
    element = f"chart-{chart.key}"
    return (f'<section>\n<div id="{element}" class="chart"></div>\n'
            f'<p class="finding">{html.escape(chart.finding)}</p>\n'
            f'<script type="application/json" data-chart="{element}">'
            f"{json_island(chart.figure.to_json())}</script>\n</section>")


def report_html(charts: Sequence[Chart], title: str, subtitle: str, plotly_js: str) -> str:
    """The whole page; ``plotly_js`` is plotly.js's source, inlined once."""
    sections = "\n".join(chart_section(chart) for chart in charts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main>
{sections}
</main>
<script>{script_safe(plotly_js)}</script>
<script>{DRAW}</script>
</body>
</html>
"""
