"""Markdown: a summary for a pull-request comment or a CI job summary.

Always under ``MAX_CHARS`` (GitHub refuses comments over 65,536 characters): cells are cut
to ``CELL_CHARS``, tables stop at ``MAX_TABLE_ROWS`` and, as a last resort, whole tables
are dropped from the end with a note, whatever the run size or label count. Every string
from content (answers, inputs, names) is escaped, so it renders as text: no HTML, no
link, no table break.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mlops_desk.core import metric_catalogue

MAX_CHARS = 60_000
CELL_CHARS = 160
MAX_TABLE_ROWS = 25
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def escape(value: Any, limit: int = CELL_CHARS) -> str:
    """Text that renders as itself in a Markdown table cell or line."""
    if value is None:
        return "-"
    text = " ".join(str(value).split())  # newlines would end a table row
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(1), "\\" + m.group(1)), text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
          limit: int = MAX_TABLE_ROWS, total: int | None = None) -> str:
    """A GFM table of already-escaped cells; says how many rows it left out."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows[:limit]]
    left_out = (total if total is not None else len(rows)) - min(len(rows), limit)
    if left_out > 0:
        lines.append(f"\n_{left_out} more row(s) not shown; the HTML, JSON or per-row "
                     "export has them._")
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    head = [f"## {escape(report['title'], 300)}", "", f"**Verdict:** {verdict(report)}", ""]
    sections = SECTIONS[report["kind"]](report)
    footer = (f"\n---\n_Exported {report['generated_at']} (UTC) by {report['generator']}; "
              f"audit head event {report['audit_head']['event_id']} "
              f"`{report['audit_head']['hash'] or 'empty log'}`. Check a copy with "
              "`mlops-desk report verify FILE`._\n")
    text = "\n".join(head) + "\n"
    budget = MAX_CHARS - len(text) - len(footer) - 200
    for i, section in enumerate(sections):
        if len(section) + 2 > budget:
            text += (f"\n_{len(sections) - i} more section(s) left out to stay under "
                     f"{MAX_CHARS:,} characters._\n")
            break
        text += section + "\n\n"
        budget -= len(section) + 2
    return text + footer


def verdict(report: dict[str, Any]) -> str:
    kind = report["kind"]
    if kind == "run":
        metrics = {m["key"]: m for m in report["metrics"]}
        parts = [f"run {report['run']['id']} {report['run']['status']}, "
                 f"{report['run']['n_done']}/{report['run']['n_total']} rows"]
        if "accuracy" in metrics and metrics["accuracy"]["value"] is not None:
            low = metrics.get("accuracy_ci_low", {}).get("text", "-")
            high = metrics.get("accuracy_ci_high", {}).get("text", "-")
            parts.append(f"accuracy {metrics['accuracy']['text']} (95% CI {low} to {high})")
        parts.append(f"{report['worst_rows']['n_errors']} error(s)")
        return escape("; ".join(parts), 400)
    if kind == "compare":
        return escape(report["mcnemar"]["meaning"], 400)
    if kind == "model":
        deployed = [f"{e['name']} = v{e['version']}" for e in report["environments"]
                    if e.get("version")]
        drift = report["monitoring"]["drift"]["status"]
        return escape(f"{', '.join(deployed) or 'nothing deployed'}; drift: {drift}", 400)
    check = report["verify"]
    if check["ok"]:
        return f"audit log intact ({check['n_events']} events, hash chain verified)"
    return escape(f"audit log BROKEN at event {check['first_bad_id']}: {check['problem']}", 400)


def _run_sections(r: dict[str, Any]) -> list[str]:
    v, d = r["version"], r["dataset"]
    what = table(["", ""], [
        ["Version", f"{escape(v['ref'])} (`{v['fingerprint'][:12]}`)"],
        ["Endpoint", f"{escape(v['endpoint']['name'])} "
                     f"{escape(v['endpoint']['base_url'] or v['endpoint']['target'])}"],
        ["Model id", escape(v["model_id"])],
        ["Dataset", f"{escape(d['name'])}, {d['n_rows']} rows, sha256 `{d['sha256'][:12]}`"],
        ["Concurrency", escape(r["run"]["settings"].get("concurrency"))],
        ["Cache", "used" if r["run"]["settings"].get("use_cache") else "not used"],
        ["Finished", escape(r["run"]["finished_at"])],
    ])
    metrics = table(["Metric", "Value"], [[escape(m["label"]), escape(m["text"])]
                                          for m in r["metrics"]
                                          if m["key"] in metric_catalogue.HEADLINE])
    sections = ["### What ran\n\n" + what, "### Metrics\n\n" + metrics]
    if r["per_class"]:
        sections.append("### Per class\n\n" + table(
            ["Label", "Precision", "Recall", "F1", "Support"],
            [[escape(c["label"]), _n(c["precision"]), _n(c["recall"]), _n(c["f1"]),
              c["support"]] for c in r["per_class"]]))
    worst = r["worst_rows"]
    for name, rows, total in (("Errors", worst["errors"], worst["n_errors"]),
                              ("Wrong answers", worst["wrong"], worst["n_wrong"])):
        if rows:
            sections.append(f"### {name} ({total})\n\n" + table(
                ["Row", "Input", "Expected", "Prediction", "Error"],
                [[row["row_idx"], escape(row["input"]), escape(row["expected"]),
                  escape(row["prediction"]), escape(row["error_class"] or "")]
                 for row in rows], limit=10, total=total))
    return sections


def _compare_sections(r: dict[str, Any]) -> list[str]:
    runs = (f"A = run {r['run_a']['id']} ({escape(r['run_a']['version'])}), "
            f"B = run {r['run_b']['id']} ({escape(r['run_b']['version'])}), dataset "
            f"{escape(r['dataset']['name'])}, {r['paired']['n_paired']} paired rows; "
            f"exact McNemar p = {r['mcnemar']['p_value']:.4g} "
            f"(alpha {r['mcnemar']['alpha']:g}).")
    arrows = {"better": " ✅", "worse": " ❌"}
    deltas = table(["Metric", "A", "B", "B − A"], [
        [escape(d["label"]), escape(d["a_text"]), escape(d["b_text"]),
         escape(d["delta_text"]) + arrows.get(d["direction"], "")] for d in r["deltas"]])
    flipped = r["flipped"]
    sections = [runs, "### Metrics\n\n" + deltas]
    if flipped["rows"]:
        sections.append(
            f"### Flipped rows ({flipped['n_to_right']} wrong→right, "
            f"{flipped['n_to_wrong']} right→wrong)\n\n" + table(
                ["Row", "Change", "Input", "Expected", "A", "B"],
                [[f["row_idx"], f["change"], escape(f["input"]), escape(f["expected"]),
                  escape(f["prediction_a"]), escape(f["prediction_b"])]
                 for f in flipped["rows"]], limit=15,
                total=flipped["n_to_right"] + flipped["n_to_wrong"]))
    return sections


def _model_sections(r: dict[str, Any]) -> list[str]:
    m = r["model"]
    about = f"{escape(m['kind'])} model; labels: {escape(', '.join(m['labels']) or '-')}. " \
            f"{escape(m['description'], 400)}"
    versions = table(["Version", "Parent", "Fingerprint", "Model id", "Note"], [
        [escape(v["ref"]), v["parent"] or "-", f"`{v['fingerprint'][:12]}`",
         escape(v["model_id"]), escape(v["note"])] for v in reversed(r["versions"])])
    envs = table(["Environment", "Version"], [
        [escape(e["name"]), f"v{e['version']}" if e["version"] else "-"]
        for e in r["environments"]])
    latest = {}
    for p in r["metrics_over_time"]["points"]:
        latest[(p["version"], p["dataset"])] = p
    runs = table(["Version", "Dataset", "Run", "Accuracy", "p95 ms"], [
        [f"v{p['version']}", escape(p["dataset"]), p["run_id"],
         metric_catalogue.format_value("share", p["accuracy"]),
         metric_catalogue.format_value("ms", p["latency_p95_ms"])]
        for p in sorted(latest.values(), key=lambda p: (-p["version"], p["dataset"]))])
    moves = table(["Time (UTC)", "Env", "Action", "From", "To", "Reason"], [
        [escape(mv["ts"][:19]), escape(mv["environment"]), mv["action"],
         mv["from_version"] or "-", mv["to_version"], escape(mv["reason"])]
        for mv in reversed(r["deployments"]["moves"])], total=r["deployments"]["n_total"])
    gates = [f"- **{escape(g['environment'])}**: {escape(', '.join(g['rules']) or 'no rule')}"
             + (", non-inferior" if g["non_inferior"] else "")
             + (f"; last result {'passed' if g['last_result']['passed'] else 'failed'}"
                if g["last_result"] else "; not used yet") for g in r["gates"]]
    s, drift = r["monitoring"]["summary"], r["monitoring"]["drift"]
    monitor = (f"{s['requests']} request(s), {s['errors']} error(s) in the last "
               f"{r['monitoring']['window_s'] / 3600:.0f} h; drift: {escape(drift['status'])}"
               + "".join(f"\n- {escape(reason, 400)}" for reason in drift["reasons"]))
    return [about, "### Latest run per version and dataset\n\n" + runs,
            "### Environments\n\n" + envs, "### Gate policies\n\n" + ("\n".join(gates)
                                                                       or "none"),
            "### Monitoring\n\n" + monitor, "### Versions\n\n" + versions,
            "### Deployment history\n\n" + moves]


def _audit_sections(r: dict[str, Any]) -> list[str]:
    span = (f"{escape(r['range']['since'] or 'the beginning')} to "
            f"{escape(r['range']['until'] or 'now')} (UTC): {r['n_events']} event(s).")
    events = table(["#", "Time (UTC)", "User", "Action", "Subject", "Details"], [
        [e["id"], escape(e["ts"][:19]), escape(e["user"]), escape(e["action"]),
         escape(e["subject"]), escape(e["details"], 120)] for e in reversed(r["events"])],
        limit=100, total=r["n_events"])
    return [span, "### Events (newest first)\n\n" + events]


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


SECTIONS = {"run": _run_sections, "compare": _compare_sections, "model": _model_sections,
            "audit": _audit_sections}
