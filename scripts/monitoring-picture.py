#!/usr/bin/env python3
"""Draws key panels of the Grafana dashboard as one PNG, from a real Prometheus's query API, with
gnuplot (Debian's `gnuplot-nox`): each panel's own PromQL targets and legends, as Grafana would
show them, without a Grafana. Not part of CI; `scripts/monitoring-test.sh` calls it when PICTURE is
set, while its Prometheus still holds the run:

    PICTURE=assets/monitoring.png BOTS=60 LOAD_SECONDS=40 bash scripts/monitoring-test.sh

or by hand: scripts/monitoring-picture.py PROM_URL INSTANCE START END OUT.png [DASHBOARD]
(START and END in Unix seconds).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

# The panels drawn (dashboard titles), with the y-axis label and a scale for the values.
PANELS = [
    ("Connections, rooms and players", "count", 1),
    ("Tick duration p50 / p99", "ms", 1000),
    ("Snapshot bytes/s by kind", "KiB/s", 1 / 1024),
    ("Frames sent and dropped /s", "frames/s", 1),
    ("Protocol closes and decode errors /s", "per second", 1),
    ("Upgrades refused by reason /s", "per second", 1),
    ("CPU (cores)", "cores", 1),
    ("Resident memory", "MiB", 1 / 2**20),
]


def query_range(prom, expr, start, end):
    url = prom + "/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": expr, "start": start, "end": end, "step": 1}
    )
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]["result"]


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def main():
    prom, instance, start, end, out = sys.argv[1:6]
    dashboard = sys.argv[6] if len(sys.argv) > 6 else "assets/grafana/tickcast.json"
    start, end = float(start), float(end)
    by_title = {}

    def walk(panels):
        for p in panels:
            by_title[p.get("title")] = p
            walk(p.get("panels", []))

    walk(json.load(open(dashboard))["panels"])

    tmp = tempfile.mkdtemp(prefix="tickcast-picture-")
    plots = []
    for title, ylabel, scale in PANELS:
        lines = []
        for t in by_title[title]["targets"]:
            # A 10 s rate window: the run is short and scraped every second.
            expr = t["expr"].replace("$__rate_interval", "10s").replace("$instance", instance)
            for series in query_range(prom, expr, start, end):
                name = legend(t.get("legendFormat", ""), series["metric"]) or t["refId"]
                name = name.replace(instance, "").strip() or title
                path = os.path.join(tmp, f"{len(plots)}-{len(lines)}.dat")
                with open(path, "w") as f:
                    for ts, value in series["values"]:
                        if value not in ("NaN", "+Inf", "-Inf"):
                            f.write(f"{float(ts) - start:.0f} {float(value) * scale:.6g}\n")
                lines.append(f"'{path}' using 1:2 with lines lw 2 title '{name}'")
        plots.append((title, ylabel, lines))

    cols, rows = 2, (len(plots) + 1) // 2
    script = [
        f"set terminal pngcairo noenhanced size 1400,{300 * rows} font 'DejaVu Sans,10'",
        f"set output '{out}'",
        f"set multiplot layout {rows},{cols} title 'tickcast under a bot load, then a hostile-client "
        f"burst (Prometheus, 1 s scrapes; the dashboard panels)'",
        "set grid",
        "set key top left",
        "set xlabel 'seconds'",
        f"set xrange [0:{end - start:.0f}]",
        "set yrange [0:*]",
    ]
    for title, ylabel, lines in plots:
        script.append(f"set title '{title}'")
        script.append(f"set ylabel '{ylabel}'")
        script.append("plot " + ", ".join(lines) if lines else "plot 0 notitle")
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
