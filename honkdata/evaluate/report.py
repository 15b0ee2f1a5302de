"""`honkdata eval --report FILE.html`: the metrics as one self-contained page, for a review or a PR."""

from html import escape

from honkdata.evaluate.metrics import HEADLINE


def _table(title: str, rows: dict[str, dict]) -> str:
    body = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(f"<td>{100 * m[k]:.2f}</td>" for k in ("precision", "recall", "f1"))
        + f"<td>{m['support']:,}</td></tr>"
        for name, m in rows.items()
    )
    return (
        f"<h2>{escape(title)}</h2><table><tr><th></th><th>precision %</th><th>recall %</th><th>F1 %</th>"
        f"<th>support</th></tr>{body}</table>"
    )


def html_report(report: dict) -> str:
    """The page for one `evaluate()` result: headline metrics, then per intent and per entity type."""
    scored_on = escape(str(report.get("snapshot") or report.get("data")))
    headline = "".join(
        f"<tr><td>{k.replace('_', ' ')}</td><td>{100 * report[k]:.2f} %</td></tr>" for k in HEADLINE
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>honkdata eval: {escape(report["model"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}td:first-child{{text-align:left}}</style>
</head><body>
<h1>{escape(report["model"])}</h1>
<p>scored on {scored_on} ({escape(str(report.get("split", "")))}), {report["n"]:,} queries,
{report["invalid"]} unreadable outputs</p>
<table>{headline}</table>
{_table("Per intent", report["per_intent"])}
{_table("Per entity type (exact spans)", report["per_entity_type"])}
</body></html>
"""
