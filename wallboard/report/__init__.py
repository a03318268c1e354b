"""``wallboard report``: one self-contained HTML file of charts for a site and a date range.

The layers, outermost last:

- ``period`` and ``scope``: the dates asked for, as a range in the site's zone, and the
  targets and rules from ``wallboard.toml`` the charts are judged by (pure);
- ``queries``: the InfluxQL for that range, aggregating inside InfluxDB (pure);
- ``results`` and ``chart_data``: InfluxDB's answers turned into typed chart data (pure);
- ``charts`` and ``page``: plotly figures, and one HTML page with plotly.js inlined once (pure);
- ``run``: the shell that runs the queries with ``InfluxHttp`` and writes the file, with
  ``progress`` drawing a one-line bar on stderr meanwhile;
- ``browser``: headless Chromium, to check the page renders offline and to screenshot it.
"""
