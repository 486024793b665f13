"""CLI: environments, deploy, rollback, gates, history, serve, monitor (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_desk.cli import arg_types
from mlops_desk.cli.commands_registry import _group, _leaf
from mlops_desk.cli.context import Context
from mlops_desk.cli.output import info, print_json, print_table, utc_time
from mlops_desk.core import deploy, gates, monitoring, registry
from mlops_desk.core.errors import CheckFailed
from mlops_desk.core.gateway_address import DEFAULT_HOST, DEFAULT_PORT


def register(sub, common) -> None:
    dep = sub.add_parser("deploy", parents=[common], help="point an environment at a version "
                         "(checked by its gate)")
    dep.set_defaults(handler=deploy_cmd)
    dep.add_argument("ref", metavar="MODEL:N")
    dep.add_argument("--env", required=True, metavar="ENV")
    dep.add_argument("--reason", default="", metavar="TEXT")
    dep.add_argument("--force", action="store_true",
                     help="deploy even if the gate refuses (needs --reason; recorded as forced)")
    dep.add_argument("--manifest-dir", metavar="DIR",
                     help="also write MODEL.ENV.json there (no keys) for apps and pipelines")

    back = sub.add_parser("rollback", parents=[common],
                          help="return an environment to the version it had before")
    back.set_defaults(handler=rollback_cmd)
    back.add_argument("model")
    back.add_argument("--env", required=True, metavar="ENV")
    back.add_argument("--reason", default="", metavar="TEXT")

    hist = sub.add_parser("history", parents=[common], help="a model's deployment history")
    hist.set_defaults(handler=history_cmd)
    hist.add_argument("model")
    hist.add_argument("--env", metavar="ENV", help="only this environment")

    _gate_commands(sub, common)
    _env_commands(sub, common)

    srv = sub.add_parser("serve", parents=[common],
                         help="serve deployed versions over the OpenAI API")
    srv.set_defaults(handler=serve_cmd)
    srv.add_argument("--host", default=DEFAULT_HOST,
                     help="address to bind (non-loopback needs $MLOPS_DESK_GATEWAY_TOKEN)")
    srv.add_argument("--port", type=arg_types.port, default=DEFAULT_PORT)

    mon = sub.add_parser("monitor", parents=[common], help="gateway traffic and drift")
    mon.set_defaults(handler=monitor_cmd)
    mon.add_argument("model")
    mon.add_argument("--since", default="1h", metavar="DURATION",
                     help="window to look back over, e.g. 15m, 1h, 2d (default 1h)")
    mon.add_argument("--fail-on-drift", action="store_true", help="exit 1 when drift is found")
    mon.add_argument("--record", action="store_true",
                     help="record a change of drift state in the audit log, checked on the "
                          f"fixed {monitoring.RECORD_WINDOW_S / 3600:g}h window whatever "
                          "--since says (for CI; the gateway does this every few minutes)")


def _gate_commands(sub, common) -> None:
    group = _group(sub, "gate", "deploy gates: thresholds a version must meet")
    gset = _leaf(group, "set", common, gate_set, "set an environment's gate")
    gset.add_argument("model")
    gset.add_argument("--env", required=True, metavar="ENV")
    gset.add_argument("--dataset", required=True, metavar="NAME", help="the gate dataset")
    gset.add_argument("--rule", action="extend", nargs="+", default=[], metavar="EXPR",
                      help="e.g. accuracy>=0.90 latency_p95_ms<=2000 (repeatable)")
    gset.add_argument("--non-inferior", action="store_true",
                      help="also refuse a version significantly worse than the deployed one "
                           "(exact McNemar test on the gate dataset)")
    gset.add_argument("--alpha", type=arg_types.number, default=gates.DEFAULT_ALPHA,
                      help="significance level of that test (default 0.05)")
    show = _leaf(group, "show", common, gate_show, "show a model's gates")
    show.add_argument("model")
    check = _leaf(group, "check", common, gate_check,
                  "evaluate a version against a gate without deploying")
    check.add_argument("ref", metavar="MODEL:N")
    check.add_argument("--env", required=True, metavar="ENV")


def _env_commands(sub, common) -> None:
    group = _group(sub, "env", "a model's environments (staging, production, ...)")
    lst = _leaf(group, "list", common, env_list, "list environments and what they serve")
    lst.add_argument("model")
    add = _leaf(group, "add", common, env_add, "add an environment")
    add.add_argument("model")
    add.add_argument("name")


# -- deploy / rollback / history -----------------------------------------------


def deploy_cmd(ctx: Context) -> int:
    a = ctx.args
    model, number = registry.parse_version_ref(a.ref)
    try:
        result = deploy.deploy(ctx.store, model, number, a.env, reason=a.reason, force=a.force,
                               manifest_dir=a.manifest_dir)
    except gates.GateRefused as refused:
        if ctx.json:
            print_json({"deployed": False, "gate": refused.report.to_dict()})
        else:
            _print_checks(refused.report)
        raise
    if ctx.json:
        print_json({"deployed": result.changed, **result.to_dict()})
        return 0
    if not result.changed:
        print(f"{model}:{number} is already deployed to {a.env}; nothing changed")
    else:
        move = result.move
        was = f"was {model}:{move.from_version}" if move.from_version else "was empty"
        print(f"{model}:{number} deployed to {a.env} ({was})")
        if result.gate is not None:
            _print_checks(result.gate)
        if move.forced:
            info(f"warning: the gate refused this version; deployed anyway (forced: {move.reason})")
    if result.manifest:
        print(f"manifest written to {result.manifest}")
    return 0


def _print_checks(report: gates.GateReport) -> None:
    if report.policy is None:
        print(f"no gate policy for {report.environment}")
        return
    if report.used:
        print(f"gate run: {report.used}")
    for skipped in report.skipped:
        print(f"  SKIP  run {skipped.run_id} of {skipped.version}: {skipped.reason}")
    if report.n_skipped > len(report.skipped):
        print(f"  SKIP  {report.n_skipped - len(report.skipped)} older run(s) not listed")
    for check in report.checks:
        hint = f" ({check.hint})" if check.hint and not check.passed else ""
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.message}{hint}")


def rollback_cmd(ctx: Context) -> int:
    a = ctx.args
    move = deploy.rollback(ctx.store, a.model, a.env, reason=a.reason)
    if ctx.json:
        print_json(move.to_dict())
    else:
        print(f"{a.env} of {move.model} rolled back to {move.model}:{move.to_version} "
              f"(was {move.model}:{move.from_version})")
    return 0


def history_cmd(ctx: Context) -> int:
    moves = deploy.history(ctx.store, ctx.args.model, ctx.args.env)
    if ctx.json:
        print_json([m.to_dict() for m in moves])
        return 0
    print_table([(m.id, utc_time(m.ts), m.user, m.environment, m.action,
                  m.from_version, m.to_version, m.gate_run_id, m.forced, m.reason)
                 for m in moves],
                ["ID", "TIME (UTC)", "USER", "ENV", "ACTION", "FROM", "TO", "GATE RUN", "FORCED",
                 "REASON"])
    return 0


# -- gates -----------------------------------------------------------------------


def gate_set(ctx: Context) -> int:
    a = ctx.args
    policy = gates.set_policy(ctx.store, a.model, a.env, a.dataset, a.rule,
                              non_inferior=a.non_inferior, alpha=a.alpha)
    if ctx.json:
        print_json(policy.to_dict())
    else:
        print(f"gate for {policy.model}@{policy.environment} set: {_describe(policy)}")
    return 0


def _describe(policy: gates.Policy) -> str:
    parts = [str(rule) for rule in policy.rules]
    if policy.non_inferior:
        parts.append(f"not significantly worse than deployed (alpha {policy.alpha:g})")
    return f"on dataset {policy.dataset}: " + ", ".join(parts)


def gate_show(ctx: Context) -> int:
    policies = gates.list_policies(ctx.store, ctx.args.model)
    if ctx.json:
        print_json([p.to_dict() for p in policies])
        return 0
    print_table([(p.environment, p.dataset, " ".join(str(r) for r in p.rules),
                  p.non_inferior, utc_time(p.updated_at), p.updated_by)
                 for p in policies],
                ["ENV", "DATASET", "RULES", "NON-INFERIOR", "UPDATED (UTC)", "BY"])
    return 0


def gate_check(ctx: Context) -> int:
    a = ctx.args
    model, number = registry.parse_version_ref(a.ref)
    candidate = registry.get_version(ctx.store, model, number)
    report = gates.evaluate(ctx.store, candidate, a.env,
                            deploy.deployed_version(ctx.store, model, a.env))
    if ctx.json:
        print_json(report.to_dict())
    else:
        _print_checks(report)
    if not report.passed:
        raise CheckFailed(f"{candidate.ref} would be refused by the gate of {a.env}: "
                          f"{report.explain()}")
    return 0


# -- environments ----------------------------------------------------------------


def env_list(ctx: Context) -> int:
    envs = deploy.list_environments(ctx.store, ctx.args.model)
    if ctx.json:
        print_json([e.to_dict() for e in envs])
        return 0
    print_table([(e.name, f"{e.model}:{e.version}" if e.version else "-",
                  utc_time(e.updated_at)) for e in envs],
                ["ENV", "VERSION", "UPDATED (UTC)"])
    return 0


def env_add(ctx: Context) -> int:
    env = deploy.add_environment(ctx.store, ctx.args.model, ctx.args.name)
    if ctx.json:
        print_json(env.to_dict())
    else:
        print(f"environment {env.name} added to {env.model}")
    return 0


# -- serve / monitor -------------------------------------------------------------


def serve_cmd(ctx: Context) -> int:
    from mlops_desk.gateway.server import serve  # uvicorn and starlette only when serving

    ctx.store.close()  # open once to create or migrate the database, then let the gateway

    def ready(url: str) -> None:
        print(f"serving {url}", flush=True)  # the app's Start button reads this line
        info("press Ctrl+C to stop")

    serve(ctx.db_path, ctx.args.host, ctx.args.port, on_ready=ready)
    return 0


def monitor_cmd(ctx: Context) -> int:
    window = monitoring.parse_duration(ctx.args.since)
    if ctx.args.record:
        monitoring.record_drift(ctx.store, ctx.args.model)
    data = monitoring.monitor(ctx.store, ctx.args.model, window_s=window)
    drift = data["drift"]
    if ctx.json:
        print_json(data)
    else:
        _print_monitor(data, ctx.args.since)
    if drift["drifting"]:
        message = f"{data['model']}: drift in {drift['environment']}: {'; '.join(drift['reasons'])}"
        if ctx.args.fail_on_drift:
            raise CheckFailed(message)
        info(f"warning: {message}")
    return 0


def _print_monitor(data: dict, since: str) -> None:
    def ms(value):
        return "-" if value is None else f"{value:.0f} ms"

    rate = data["error_rate"]
    cost = data["cost"]
    print(f"{data['model']}, last {since} (from "
          f"{datetime.fromtimestamp(data['since'], UTC):%Y-%m-%d %H:%M} UTC): "
          f"{data['requests']} request(s), {data['errors']} error(s)"
          f"{f' ({rate:.1%})' if rate is not None else ''}, p50 {ms(data['latency_p50_ms'])}, "
          f"p95 {ms(data['latency_p95_ms'])}, cost {'-' if cost is None else f'${cost:.4f}'}")
    if data["by_version"]:
        print_table([(f"{data['model']}:{v['version']}", v["environment"] or "(pinned)",
                      v["requests"], v["errors"], v["latency_p50_ms"], v["latency_p95_ms"],
                      v["cost"]) for v in data["by_version"]],
                    ["VERSION", "ENV", "REQUESTS", "ERRORS", "P50 MS", "P95 MS", "COST $"])
    d = data["drift"]
    head = f"drift ({d['environment']}"
    if d["version"] is not None:
        head += f", {data['model']}:{d['version']} vs run {d['reference_run_id'] or '-'}"
    print(f"{head}): {d['status']}")
    if d["psi"] is not None:
        print(f"  output labels: PSI {d['psi']:.3f}, chi-square {d['chi2']:.2f} "
              f"(df {d['chi2_df']}), p {d['chi2_p']:.3g}")
    if d["ks_d"] is not None:
        print(f"  input length: KS D {d['ks_d']:.3f}, p {d['ks_p']:.3g} "
              f"({d['n_reference']} reference rows, {d['n_production']} requests)")
    for reason in d["reasons"]:
        print(f"  {reason}")
