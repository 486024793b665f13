"""CLI: endpoint, model, version, dataset and audit commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlops_desk.cli import arg_types
from mlops_desk.cli.context import Context
from mlops_desk.cli.output import error, print_json, print_table, utc_time
from mlops_desk.core import archive, audit, reference, registry, secrets
from mlops_desk.core.errors import BadInput, CheckFailed


def register(sub, common) -> None:
    _endpoint_commands(sub, common)
    _model_commands(sub, common)
    _version_commands(sub, common)
    _dataset_commands(sub, common)
    _audit_commands(sub, common)


def _group(sub, name: str, help_text: str):
    parser = sub.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))


def _leaf(group, name: str, common, handler, help_text: str):
    parser = group.add_parser(name, parents=[common], help=help_text)
    parser.set_defaults(handler=handler)
    return parser


def _list_leaf(group, kind: str, common, handler):
    parser = _leaf(group, "list", common, handler, f"list {kind}s (archived ones with --all)")
    parser.add_argument("--all", action="store_true", help=f"also list archived {kind}s")
    return parser


def _archive_leaf(group, kind: str, common) -> None:
    parser = _leaf(group, "archive", common, archive_cmd,
                   f"hide a {kind} from lists; nothing is deleted, and what refers to it keeps "
                   "working")
    parser.add_argument("name")
    parser.add_argument("--restore", action="store_true", help=f"list the {kind} again")
    parser.set_defaults(kind=kind)


def archive_cmd(ctx: Context) -> int:
    a = ctx.args
    archived = not a.restore
    changed = archive.set_archived(ctx.store, a.kind, a.name, archived)
    if ctx.json:
        print_json({"kind": a.kind, "name": a.name, "archived": archived, "changed": changed})
    else:
        state = "archived" if archived else "restored"
        print(f"{a.kind} {a.name} {state}" if changed else
              f"{a.kind} {a.name} is already {'archived' if archived else 'listed'}; "
              "nothing changed")
    return 0


def _shown_name(name: str, archived: bool) -> str:
    return f"{name} (archived)" if archived else name


# -- endpoints ---------------------------------------------------------------


def _endpoint_commands(sub, common) -> None:
    group = _group(sub, "endpoint", "OpenAI-compatible servers and local Python models")
    add = _leaf(group, "add", common, endpoint_add, "register an endpoint")
    add.add_argument("name")
    add.add_argument("--kind", choices=registry.ENDPOINT_KINDS, default="openai")
    add.add_argument("--base-url", help="e.g. http://127.0.0.1:11434/v1 (kind openai)")
    add.add_argument("--target", help="module:function (kind python)")
    keys = add.add_mutually_exclusive_group()
    keys.add_argument("--api-key-env", metavar="VAR", help="read the key from this variable")
    keys.add_argument("--api-key-stdin", action="store_true",
                      help="read the key from stdin and keep it in the OS keyring")
    add.add_argument("--timeout", type=arg_types.number, default=60.0, metavar="S")
    add.add_argument("--max-concurrency", type=arg_types.count, default=8, metavar="N")
    add.add_argument("--rpm", type=arg_types.count, help="requests-per-minute limit")
    add.add_argument("--tpm", type=arg_types.count, help="tokens-per-minute limit")
    add.add_argument("--price", action="append", default=[], metavar="MODEL_ID=IN,OUT",
                     help="USD per 1M input and output tokens (MODEL_ID '*' for any)")
    add.add_argument("--batch-discount", type=fraction, default=registry.DEFAULT_BATCH_DISCOUNT,
                     metavar="F", help="price cut for Batch API runs: 0.5 or 50%% (default)")

    edit = _leaf(group, "edit", common, endpoint_edit, "change an endpoint's settings")
    edit.add_argument("name")
    edit.add_argument("--base-url")
    edit.add_argument("--target")
    keys = edit.add_mutually_exclusive_group()
    keys.add_argument("--api-key-env", metavar="VAR")
    keys.add_argument("--api-key-stdin", action="store_true")
    keys.add_argument("--no-api-key", action="store_true")
    edit.add_argument("--timeout", type=arg_types.number, metavar="S")
    edit.add_argument("--max-concurrency", type=arg_types.count, metavar="N")
    edit.add_argument("--rpm", type=arg_types.count)
    edit.add_argument("--tpm", type=arg_types.count)
    edit.add_argument("--price", action="append", metavar="MODEL_ID=IN,OUT")
    edit.add_argument("--batch-discount", type=fraction, metavar="F")

    _list_leaf(group, "endpoint", common, endpoint_list)
    _archive_leaf(group, "endpoint", common)
    test = _leaf(group, "test", common, endpoint_test, "call GET /models and report")
    test.add_argument("name")


def fraction(text: str) -> float:
    """0.5 or 50%: argparse reports a ValueError as one usage line."""
    text = text.strip()
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def _key_option(args) -> tuple[str | None, str | None]:
    """(key reference, key to keep in the keyring) from the key options.

    The key is only read here; callers save it once the endpoint change is valid, so a
    rejected command never overwrites another endpoint's key or leaves one behind.
    """
    if getattr(args, "api_key_env", None):
        return secrets.env_ref(args.api_key_env), None
    if getattr(args, "api_key_stdin", False):
        usable, why = secrets.keyring_status()
        if not usable:
            raise BadInput(f"{why}; use --api-key-env VAR to read the key from an "
                           "environment variable instead")
        try:
            key = sys.stdin.readline().strip()
            key.encode("utf-8")  # undecodable bytes arrive as surrogates in a C locale
        except UnicodeError:  # never quote it: it is a secret
            raise BadInput("--api-key-stdin: the key on standard input is not UTF-8 "
                           "text") from None
        if not key:
            raise BadInput("--api-key-stdin: no key on standard input")
        return "keyring", key
    if getattr(args, "no_api_key", False):
        return "", None
    return None, None


@contextmanager
def _credentials_hint() -> Iterator[None]:
    """Core says where an API key belongs; the CLI names the options that put it there."""
    try:
        yield
    except registry.CredentialsInUrl as exc:
        raise BadInput(f"{exc} (--api-key-env VAR or --api-key-stdin)") from None


def endpoint_add(ctx: Context) -> int:
    a = ctx.args
    registry.check_name(a.name, "endpoint")
    prices = dict(registry.parse_price(p) for p in a.price)
    key_ref, key = _key_option(a)
    store = ctx.store
    with _credentials_hint():
        endpoint = registry.save_endpoint(
            store, a.name, kind=a.kind, key=key, base_url=a.base_url, target=a.target,
            api_key_ref=key_ref or "", timeout_s=a.timeout, max_concurrency=a.max_concurrency,
            rpm=a.rpm, tpm=a.tpm, prices=prices, batch_discount=a.batch_discount,
        )
    if ctx.json:
        print_json(endpoint.public_dict())
    else:
        where = endpoint.display_url or endpoint.target
        print(f"endpoint {endpoint.name} added ({endpoint.kind}, {where}, "
              f"key: {secrets.describe(endpoint.api_key_ref)})")
    return 0


def endpoint_edit(ctx: Context) -> int:
    a = ctx.args
    changes: dict[str, Any] = {}
    for arg, key in (("base_url", "base_url"), ("target", "target"), ("timeout", "timeout_s"),
                     ("max_concurrency", "max_concurrency"), ("rpm", "rpm"), ("tpm", "tpm"),
                     ("batch_discount", "batch_discount")):
        if getattr(a, arg) is not None:
            changes[key] = getattr(a, arg)
    if a.price:
        changes["prices"] = dict(registry.parse_price(p) for p in a.price)
    registry.get_endpoint(ctx.store, a.name)
    key_ref, key = _key_option(a)
    if key_ref is not None:
        changes["api_key_ref"] = key_ref
    if not changes:
        raise BadInput("nothing to change: give at least one option (see 'endpoint edit --help')")
    with _credentials_hint():
        endpoint = registry.save_endpoint(ctx.store, a.name, key=key, **changes)
    if ctx.json:
        print_json(endpoint.public_dict())
    else:
        print(f"endpoint {endpoint.name} updated")
    return 0


def endpoint_list(ctx: Context) -> int:
    endpoints = registry.list_endpoints(ctx.store, include_archived=ctx.args.all)
    if ctx.json:
        print_json([e.public_dict() for e in endpoints])
        return 0
    print_table(
        [(_shown_name(e.name, e.archived), e.kind, e.display_url or e.target,
          secrets.describe(e.api_key_ref), e.timeout_s, e.max_concurrency,
          ", ".join(f"{m}={p[0]:g}/{p[1]:g}" for m, p in e.prices.items()))
         for e in endpoints],
        ["NAME", "KIND", "URL/TARGET", "KEY", "TIMEOUT", "CONC", "PRICES $/1M"],
    )
    return 0


def endpoint_test(ctx: Context) -> int:
    from mlops_desk.core.endpoint_check import check_endpoint

    endpoint = registry.get_endpoint(ctx.store, ctx.args.name)
    result = check_endpoint(endpoint)
    if ctx.json:
        print_json(result.__dict__)
    elif result.reachable:
        print(f"{result.endpoint}: reachable in {result.latency_ms:.0f} ms; "
              f"{len(result.model_ids)} model(s): {', '.join(result.model_ids[:20]) or '-'}")
    if not result.reachable:
        error(f"endpoint {result.endpoint} is not reachable: {result.error}")
        return 1
    return 0


# -- models ------------------------------------------------------------------


def _model_commands(sub, common) -> None:
    group = _group(sub, "model", "named tasks (ticket-triage, ...)")
    create = _leaf(group, "create", common, model_create, "create a model")
    create.add_argument("name")
    create.add_argument("--kind", choices=registry.MODEL_KINDS, default="classification")
    create.add_argument("--labels", help="comma-separated label set, e.g. pos,neg,neutral")
    create.add_argument("--description", default="")
    _list_leaf(group, "model", common, model_list)
    _archive_leaf(group, "model", common)
    ref = _leaf(group, "set-reference", common, model_set_reference,
                "choose the dataset a model's figures are shown on (Overview, Models, Charts)")
    ref.add_argument("model")
    ref.add_argument("dataset", nargs="?", help="a dataset name; omit it with --rule")
    ref.add_argument("--rule", action="store_true",
                     help="forget the choice: the gate dataset, else the one most runs used")


def model_create(ctx: Context) -> int:
    a = ctx.args
    model = registry.create_model(ctx.store, a.name, kind=a.kind,
                                  labels=registry.parse_labels(a.labels),
                                  description=a.description)
    if ctx.json:
        print_json(model.__dict__)
    else:
        print(f"model {model.name} created ({model.kind})")
    return 0


def model_list(ctx: Context) -> int:
    rows = registry.model_summaries(ctx.store, include_archived=ctx.args.all)
    if ctx.json:
        print_json(rows)
        return 0
    print_table([(_shown_name(r["name"], r["archived"]), r["kind"], r["versions"],
                  ",".join(r["labels"]), r["description"]) for r in rows],
                ["NAME", "KIND", "VERSIONS", "LABELS", "DESCRIPTION"])
    return 0


def model_set_reference(ctx: Context) -> int:
    a = ctx.args
    if (a.dataset is None) == (not a.rule):
        raise BadInput("give either a dataset name or --rule, not both or neither")
    ref = reference.set_reference(ctx.store, a.model, None if a.rule else a.dataset)
    if ctx.json:
        print_json(None if ref is None else ref.__dict__)
    elif ref is None:
        print(f"model {a.model}: no reference dataset until it has a gate dataset or a run")
    else:
        print(f"model {a.model}: reference dataset {ref.describe()}")
    return 0


# -- versions ----------------------------------------------------------------


def _version_commands(sub, common) -> None:
    group = _group(sub, "version", "immutable inference configs of a model")
    reg = _leaf(group, "register", common, version_register, "register a version")
    reg.add_argument("model")
    reg.add_argument("--endpoint", required=True)
    reg.add_argument("--model-id", required=True)
    reg.add_argument("--system-prompt", default="", metavar="TEXT|@FILE")
    reg.add_argument("--template", default="{input}", metavar="TEXT|@FILE",
                     help="prompt template with {column} placeholders (default: {input})")
    reg.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="temperature=0, max_tokens=64, response_format={...} (JSON values)")
    reg.add_argument("--parser", default=None, metavar="SPEC",
                     help="label | text | regex:PATTERN | json:FIELD")
    reg.add_argument("--note", default="")
    reg.add_argument("--tag", action="append", default=[])
    reg.add_argument("--parent", type=arg_types.count, metavar="N",
                     help="the version this one derives from")

    lst = _leaf(group, "list", common, version_list, "list a model's versions")
    lst.add_argument("model")
    show = _leaf(group, "show", common, version_show, "show one version's full config")
    show.add_argument("ref", metavar="MODEL:N")
    diff = _leaf(group, "diff", common, version_diff, "what differs between two versions")
    diff.add_argument("a", metavar="MODEL:N")
    diff.add_argument("b", metavar="MODEL:N")
    meta = _leaf(group, "annotate", common, version_annotate,
                 "edit a version's note, tags or archived flag (never its config)")
    meta.add_argument("ref", metavar="MODEL:N")
    meta.add_argument("--note")
    meta.add_argument("--tags", help="comma-separated; replaces the tags")
    flag = meta.add_mutually_exclusive_group()
    flag.add_argument("--archive", action="store_true")
    flag.add_argument("--unarchive", action="store_true")


def _text_or_file(value: str, option: str) -> str:
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{option} {value}: cannot read {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    return value


def parse_param(spec: str) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is JSON when it parses (0.7, true, {...}), else a string."""
    key, sep, raw = spec.partition("=")
    if not sep or not key.strip():
        raise BadInput(f"bad --param {spec!r}: expected KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, float) and value != value:  # NaN has no canonical form
        raise BadInput(f"bad --param {spec!r}: not a number")
    return key.strip(), value


def version_register(ctx: Context) -> int:
    a = ctx.args
    store = ctx.store
    model = registry.get_model(store, a.model)
    parser = a.parser or ("label" if model.kind == "classification" else "text")
    try:
        params = dict(parse_param(p) for p in a.param)
    except ValueError as exc:  # inf / too-deep JSON
        raise BadInput(f"bad --param: {exc}") from None
    config = registry.make_config(
        endpoint=a.endpoint, model_id=a.model_id,
        system_prompt=_text_or_file(a.system_prompt, "--system-prompt"),
        template=_text_or_file(a.template, "--template"), params=params, parser=parser,
    )
    version, created = registry.register_version(store, model.name, config, note=a.note,
                                                 tags=a.tag, parent_number=a.parent)
    if ctx.json:
        print_json({"model": version.model, "number": version.number,
                    "fingerprint": version.fingerprint, "created": created})
    else:
        status = "registered" if created else "already registered (identical config)"
        print(f"{version.ref} {status}  fingerprint {version.fingerprint}")
    return 0


def version_list(ctx: Context) -> int:
    versions = registry.list_versions(ctx.store, ctx.args.model)
    if ctx.json:
        print_json([v.to_dict() for v in versions])
        return 0
    print_table(
        [(v.number, v.fingerprint[:12], v.config["endpoint"], v.config["model_id"],
          v.parent_number, utc_time(v.created_at), ",".join(v.tags),
          "archived" if v.archived else "", v.note) for v in versions],
        ["N", "FINGERPRINT", "ENDPOINT", "MODEL ID", "PARENT", "CREATED (UTC)", "TAGS", "", "NOTE"],
    )
    return 0


def version_show(ctx: Context) -> int:
    version = registry.get_version(ctx.store, *registry.parse_version_ref(ctx.args.ref))
    if ctx.json:
        print_json(version.to_dict())
        return 0
    c = version.config
    print(f"{version.ref}  fingerprint {version.fingerprint}")
    print(f"created    {version.created_at} by {version.created_by}"
          f"{'  (archived)' if version.archived else ''}")
    print(f"parent     {version.parent_number or '-'}")
    print(f"endpoint   {c['endpoint']}  model id {c['model_id']}")
    print(f"parser     {c['parser']}")
    print(f"params     {json.dumps(c['params'], sort_keys=True)}")
    print(f"tags       {', '.join(version.tags) or '-'}")
    print(f"note       {version.note or '-'}")
    print("system prompt:")
    print("  " + (c["system_prompt"] or "-").replace("\n", "\n  "))
    print("template:")
    print("  " + c["template"].replace("\n", "\n  "))
    return 0


def version_diff(ctx: Context) -> int:
    va = registry.get_version(ctx.store, *registry.parse_version_ref(ctx.args.a))
    vb = registry.get_version(ctx.store, *registry.parse_version_ref(ctx.args.b))
    changes = registry.diff_configs(va.config, vb.config)
    if ctx.json:
        print_json([{"field": f, "a": x, "b": y} for f, x, y in changes])
    elif not changes:
        print(f"{va.ref} and {vb.ref} have identical configs")
    else:
        print_table(changes, ["FIELD", va.ref, vb.ref])
    return 0


def version_annotate(ctx: Context) -> int:
    a = ctx.args
    model, number = registry.parse_version_ref(a.ref)
    archived = True if a.archive else (False if a.unarchive else None)
    tags = [t.strip() for t in a.tags.split(",") if t.strip()] if a.tags is not None else None
    version = registry.set_version_meta(ctx.store, model, number, note=a.note, tags=tags,
                                        archived=archived)
    if ctx.json:
        print_json(version.to_dict())
    else:
        print(f"{version.ref} updated")
    return 0


# -- datasets ----------------------------------------------------------------


def _dataset_commands(sub, common) -> None:
    group = _group(sub, "dataset", "immutable dataset snapshots")
    imp = _leaf(group, "import", common, dataset_import,
                "import CSV, TSV, JSONL, XLSX or Parquet as a snapshot")
    imp.add_argument("path", type=Path)
    imp.add_argument("--name", required=True)
    imp.add_argument("--input-col", action="append", default=[], metavar="COL",
                     help="an input column (repeat; default: every column but the expected one)")
    imp.add_argument("--expected-col", metavar="COL", help="the column with the expected answer")
    imp.add_argument("--encoding", metavar="NAME",
                     help="encoding of a CSV/TSV/JSONL file that is not UTF-8 and has no BOM, "
                          "e.g. cp1252 (Excel on Windows) or latin-1")
    _list_leaf(group, "dataset", common, dataset_list)
    _archive_leaf(group, "dataset", common)
    show = _leaf(group, "show", common, dataset_show, "show a dataset and its validation report")
    show.add_argument("name")
    show.add_argument("--rows", type=arg_types.whole(), default=5,
                      help="preview this many rows (text mode)")


def dataset_import(ctx: Context) -> int:
    from mlops_desk.core.dataset_io import UnknownEncoding, format_report
    from mlops_desk.core.datasets import import_dataset

    a = ctx.args
    registry.check_name(a.name, "dataset")
    try:
        dataset, created = import_dataset(ctx.store, a.path, a.name,
                                          input_cols=a.input_col or None,
                                          expected_col=a.expected_col, encoding=a.encoding)
    except UnknownEncoding as exc:
        raise BadInput(f"{exc} with --encoding {exc.suggestion}") from None
    if ctx.json:
        print_json({**dataset.to_dict(), "created": created})
        return 0
    if created:
        print(f"dataset {dataset.name} imported: {dataset.n_rows} rows, sha256 {dataset.sha256}")
    else:
        print(f"identical content is already snapshot {dataset.name} "
              f"(sha256 {dataset.sha256}); nothing imported")
    print(format_report(dataset.validation))
    return 0


def dataset_list(ctx: Context) -> int:
    from mlops_desk.core.datasets import list_datasets

    datasets = list_datasets(ctx.store, include_archived=ctx.args.all)
    if ctx.json:
        print_json([d.to_dict() for d in datasets])
        return 0
    print_table([(_shown_name(d.name, d.archived), d.n_rows, d.sha256[:12],
                  ",".join(d.input_cols), d.expected_col, len(d.validation.get("warnings", [])),
                  utc_time(d.created_at))
                 for d in datasets],
                ["NAME", "ROWS", "SHA256", "INPUTS", "EXPECTED", "WARNINGS", "CREATED (UTC)"])
    return 0


def dataset_show(ctx: Context) -> int:
    from mlops_desk.core.dataset_io import format_report
    from mlops_desk.core.datasets import get_dataset, iter_rows

    dataset = get_dataset(ctx.store, ctx.args.name)
    if ctx.json:
        print_json(dataset.to_dict())
        return 0
    print(f"dataset {dataset.name}: {dataset.n_rows} rows from {dataset.source_name}, "
          f"sha256 {dataset.sha256}")
    print(format_report(dataset.validation))
    if ctx.args.rows > 0:
        rows = [[row.get(c) for c in dataset.columns]
                for _, row in iter_rows(ctx.store, dataset.id, limit=ctx.args.rows)]
        print_table(rows, dataset.columns)
    return 0


# -- audit -------------------------------------------------------------------


def _audit_commands(sub, common) -> None:
    group = _group(sub, "audit", "the append-only, hash-chained change log")
    lst = _leaf(group, "list", common, audit_list, "list audit events")
    lst.add_argument("--limit", type=arg_types.whole(), default=None)
    lst.add_argument("--subject", help="only events about this subject, e.g. model:triage")
    check = _leaf(group, "verify", common, audit_verify,
                  "check the HMAC chain and the checkpoint; exit 1 if broken")
    check.add_argument("--expect-head", metavar="HASH",
                       help="also require this head (from 'audit head'; the log may have grown)")
    _leaf(group, "head", common, audit_head,
          "print the verified head hash and event count, to keep in a ticket or report")


def audit_list(ctx: Context) -> int:
    events = audit.list_events(ctx.store, limit=ctx.args.limit, subject=ctx.args.subject)
    if ctx.json:
        print_json(events)
        return 0
    print_table([(e["id"], utc_time(e["ts"]), e["user"], e["action"], e["subject"],
                  json.dumps(e["details"], sort_keys=True)) for e in events],
                ["ID", "TIME (UTC)", "USER", "ACTION", "SUBJECT", "DETAILS"])
    return 0


def audit_verify(ctx: Context) -> int:
    result = audit.verify(ctx.store, expect_head=ctx.args.expect_head)
    if ctx.json:
        print_json(result.__dict__)
    elif result.ok:
        print(result.summary())
    if not result.ok:
        raise CheckFailed(result.summary())
    return 0


def audit_head(ctx: Context) -> int:
    result = audit.verify(ctx.store)
    if not result.ok:  # a head of a broken log would vouch for what it cannot
        raise CheckFailed(f"{result.summary()}; no head printed")
    if ctx.json:
        print_json({"head": result.head, "count": result.n_events})
    else:
        print(f"{result.head} {result.n_events} events")
    return 0
