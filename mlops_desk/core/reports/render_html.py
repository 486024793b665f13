"""HTML: one self-contained file (inline CSS, inline SVG charts), no script, no request.

Jinja2 with autoescaping renders every string of the report as text, so an answer like
``<img src=x onerror=alert(1)>`` shows as those characters. Only the charts, which
``svg`` builds with every outside text escaped, are inserted as markup.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from mlops_desk.core import metric_catalogue
from mlops_desk.core.reports import svg


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True, undefined=jinja2.ChainableUndefined, trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=_num, usd=_usd, pct=_pct, json=_json)
    return env


def _template_source(name: str) -> str:
    # importlib.resources, as the rest of the app: works installed and frozen alike.
    return files("mlops_desk.resources").joinpath("reports", name).read_text(encoding="utf-8")


def charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG documents, by name."""
    kind = report["kind"]
    if kind == "run":
        hist = report["latency_histogram"]
        result = {"latency": svg.histogram(hist["edges"], hist["counts"],
                                           {"p50": hist.get("p50_ms"),
                                            "p95": hist.get("p95_ms")})}
        if report.get("confusion"):
            result["confusion"] = svg.confusion_heatmap(report["confusion"]["labels"],
                                                        report["confusion"]["matrix"])
        return result
    if kind == "model":
        points = report["metrics_over_time"]["points"]
        return {"accuracy": svg.line_chart(points, "accuracy", group="dataset",
                                           y_label="Accuracy", percent=True),
                "latency": svg.line_chart(points, "latency_p95_ms", group="dataset",
                                          y_label="Latency p95 (ms)")}
    return {}


def render_html(report: dict[str, Any], *, images: dict[str, str] | None = None) -> str:
    """The page; with ``images`` (chart name -> image URL) charts become ``<img>`` tags,
    which is how the PDF renderer supplies them as pictures."""
    from markupsafe import Markup, escape

    drawn = charts(report) if images is None else {}

    def chart(name: str) -> Markup:
        if images is not None:
            return Markup(f"<img src='{escape(images.get(name, ''))}' alt='{escape(name)}'>")
        return Markup(drawn.get(name, ""))

    template = _environment().get_template(f"{report['kind']}.html.j2")
    return template.render(r=report, chart=chart)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return f"{value:,.{digits}f}"


def _usd(value: Any) -> str:
    return metric_catalogue.format_value("usd", value)


def _pct(value: Any) -> str:
    return metric_catalogue.format_value("share", value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
