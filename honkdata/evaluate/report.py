"""`honkdata eval --report FILE.html`: one self-contained page for a review, a PR or a retraining run.

Headline metrics, the intent confusion matrix, per-intent and per-entity-type scores, calibration
(reliability diagram and ECE), slices (surface, locale, label source, head/torso/tail), and the
worst errors with their queries. Plots are inline PNGs and the style is inline, so the one file is
the whole report; every text that comes from data (queries, labels, paths) is HTML-escaped.
"""

from html import escape

from honkdata.evaluate.calibration import BINS
from honkdata.evaluate.metrics import HEADLINE
from honkdata.evaluate.mistakes import WORST, worst_errors
from honkdata.evaluate.plots import confusion_png, reliability_png
from honkdata.evaluate.run import EvalDetails
from honkdata.evaluate.slices import BANDS

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin-bottom:1em}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right;vertical-align:top}
td:first-child,td.text{text-align:left}
td.bad{color:#b00}
p.note{color:#555;max-width:60em}
img{max-width:100%}"""

_SLICE_TITLES = {
    "surface": "By surface",
    "locale": "By locale",
    "label_source": "By label source",
    "frequency": "By query frequency",
}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def _prf_table(title: str, rows: dict[str, dict]) -> str:
    body = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(f"<td>{_percent(m[k])}</td>" for k in ("precision", "recall", "f1"))
        + f"<td>{m['support']:,}</td></tr>"
        for name, m in rows.items()
    )
    return (
        f"<h2>{escape(title)}</h2><table><tr><th></th><th>precision %</th><th>recall %</th><th>F1 %</th>"
        f"<th>support</th></tr>{body}</table>"
    )


def _image(png: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{png}" alt="{escape(alt)}">'


def _calibration(metrics: dict) -> str:
    rows = "".join(
        f"<tr><td>{b['lower']:.1f}–{b['upper']:.1f}</td><td>{b['n']:,}</td>"
        f"<td>{_percent(b['accuracy'])}</td><td>{_percent(b['confidence'])}</td></tr>"
        for b in metrics["calibration"]
    )
    return f"""<h2>Calibration</h2>
<p class="note">Confidence: the model's probability of the intent it predicted, in {BINS} equal-width
bins. Expected calibration error (ECE) = Σ over bins of (share of predictions in the bin) ×
|accuracy − mean confidence|: <b>{100 * metrics["intent_ece"]:.2f} %</b>.</p>
{_image(reliability_png(metrics["calibration"], metrics["intent_ece"]), "reliability diagram")}
<table><tr><th>confidence</th><th>predictions</th><th>accuracy %</th><th>mean confidence %</th></tr>
{rows}</table>"""


def _slices(slices: dict[str, dict[str, dict]]) -> str:
    head, torso = BANDS[0][1], BANDS[1][1]
    parts = [
        f"""<h2>Slices</h2>
<p class="note">Query frequency is the row's <code>count</code> (raw events merged into it) within the
scored rows: ranked from the most to the least frequent, the head is the rows that make up the first
{100 * head:.0f} % of their events, the torso the next {100 * (torso - head):.0f} %, the tail the rest
(a row falls where its events begin, so equally frequent rows share a band). <i>unknown</i>: the data
does not say (a <code>--data</code> file has no counts nor label sources, a public set rarely a
surface).</p>"""
    ]
    for dimension, values in slices.items():
        body = "".join(
            f"<tr><td>{escape(value)}</td><td>{m['n']:,}</td><td>{_percent(m['share'])}</td>"
            + "".join(f"<td>{_percent(m[k])}</td>" for k in HEADLINE)
            + "</tr>"
            for value, m in values.items()
        )
        header = "".join(f"<th>{k.replace('_', ' ')} %</th>" for k in HEADLINE)
        parts.append(
            f"<h3>{_SLICE_TITLES[dimension]}</h3>"
            f"<table><tr><th></th><th>rows</th><th>share %</th>{header}</tr>{body}</table>"
        )
    return "\n".join(parts)


def _td(content: str, *classes: str) -> str:
    return f'<td class="{" ".join(classes)}">{content}</td>' if classes else f"<td>{content}</td>"


def _entities(entities: list[dict]) -> str:
    return "<br>".join(f"{escape(e['type'])}: {escape(e['text'])}" for e in entities) or "–"


def _worst(details: EvalDetails) -> str:
    errors = worst_errors(details.examples, details.frames, WORST)
    rows = "".join(
        "<tr>"
        + _td(escape(e["query"]), "text")
        + _td(escape(e["gold_intent"]), "text")
        + _td(_entities(e["gold_entities"]), "text")
        + _td(escape(e["predicted_intent"]), "text", *(["bad"] if e["wrong"] == "intent" else []))
        + _td(_entities(e["predicted_entities"]), "text", *(["bad"] if e["wrong"] == "entities" else []))
        + _td(f"{e['confidence']:.3f}")
        + "</tr>"
        for e in errors
    )
    return f"""<h2>Worst errors</h2>
<p class="note">The {WORST} wrong predictions the model was surest of: wrong intents first, then
right intents with wrong entities, each by confidence. Label errors and blind spots show up here
first.</p>
<table><tr><th>query</th><th>gold intent</th><th>gold entities</th><th>predicted intent</th>
<th>predicted entities</th><th>confidence</th></tr>{rows}</table>"""


def html_report(details: EvalDetails) -> str:
    """The page for one `evaluate_details()` result."""
    m = details.metrics
    if "snapshot" in m:
        scored_on = f"{escape(m['snapshot'])} ({escape(m['split'])})"
    else:
        scored_on = f"{escape(m['data'])} (format {escape(m['format'])})"
    headline = "".join(
        f"<tr><td>{k.replace('_', ' ')}</td><td>{100 * m[k]:.2f} %</td></tr>" for k in HEADLINE
    )
    headline += f"<tr><td>intent ECE (calibration)</td><td>{100 * m['intent_ece']:.2f} %</td></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>honkdata eval: {escape(m["model"])}</title>
<style>{_STYLE}</style>
</head><body>
<h1>{escape(m["model"])}</h1>
<p>scored on {scored_on}, {m["n"]:,} queries, {m["invalid"]:,} unreadable outputs</p>
<table>{headline}</table>
<h2>Intent confusion</h2>
<p class="note">Rows: gold intent; columns: predicted intent; each cell the number of queries,
coloured by its share of the row.</p>
{_image(confusion_png(m["confusion"]), "intent confusion matrix")}
{_prf_table("Per intent", m["per_intent"])}
{_prf_table("Per entity type (exact spans)", m["per_entity_type"])}
{_calibration(m)}
{_slices(m["slices"])}
{_worst(details)}
</body></html>
"""
