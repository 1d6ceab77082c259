"""The ``memos`` command: dev (local stack), demo, migrate, keys."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def _cmd_dev(args: argparse.Namespace) -> int:
    from infra.local.demo import run_demo
    from infra.local.stack import LocalStack

    stack = LocalStack(
        Path(args.data_dir),
        port=args.port,
        rotate_key=args.rotate_key,
        instances=getattr(args, "instances", 1),
    )
    print("starting MemOS locally ...", flush=True)
    stack.start()
    for what, how in stack.notes.items():
        if what != "key":
            print(f"  {what}: {how}")
    print(f"\nMemOS is running at {stack.url}")
    print(f"API key ({stack.notes['key']}): {stack.api_key}")
    print(f"try: curl -s {stack.url}/v1/health")
    if args.demo:
        print("\n--- demo ---")
        run_demo(stack.url, stack.api_key or "")
    if args.exit_after_demo:
        stack.stop()
        return 0
    print("\nCtrl-C to stop.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("stopping ...", flush=True)
    stack.stop()
    print("stopped.")
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from memos.kernel.config import get_settings
    from memos.store.db import database_url
    from memos.store.migrate import apply_migrations

    settings = get_settings()
    applied = apply_migrations(database_url(settings), settings.embed_dim)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _cmd_reembed(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from memos.embeddings.reembed import abort, reembed

    if args.abort:
        print("aborted the dimension change" if abort() else "no dimension change in progress")
        return 0
    report = reembed(args.namespace, batch_size=args.batch_size, max_batches=args.max_batches)
    print(json.dumps(asdict(report), indent=2))
    return 0 if report.finished else 3  # 3: stopped at --max-batches; run again to continue


def local_target(data_dir: str) -> tuple[str, str | None] | None:
    """(url, admin key) of the stack `memos dev` runs from ``data_dir``, if it is running."""
    from infra.local.stack import read_state, stored_key

    state = read_state(Path(data_dir))
    if not state or not state.get("url"):
        return None
    return str(state["url"]), stored_key(Path(data_dir))


def api_target(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """Where a command talks HTTP: ``--url``/``--key``, else the local stack's state file; None means
    the database directly (``MEMOS_DATABASE_URL`` is set)."""
    import os

    if args.url:
        local = local_target(args.data_dir)
        return args.url, args.key or os.environ.get("MEMOS_API_KEY") or (local[1] if local else None)
    if os.environ.get("MEMOS_DATABASE_URL"):
        return None
    local = local_target(args.data_dir)
    if local is None:
        from memos.kernel.errors import DependencyUnavailable

        raise DependencyUnavailable(
            f"no running local stack in {args.data_dir}/ (start `memos dev`), and neither --url nor"
            " MEMOS_DATABASE_URL given"
        )
    return local[0], args.key or local[1]


def _keys_over_http(args: argparse.Namespace, url: str, key: str | None) -> Any:
    from memos.sdk import MemosClient

    with MemosClient(url, key) as client:
        if args.keys_cmd == "create":
            return client.create_key(
                args.name, args.scopes.split(","), args.namespaces.split(",")
            ).model_dump(mode="json")
        if args.keys_cmd == "list":
            return [k.model_dump(mode="json") for k in client.list_keys().keys]
        return client.revoke_key(args.key_id).model_dump(mode="json")


def _keys_in_database(args: argparse.Namespace) -> Any:
    from memos.access import auth
    from memos.store import db

    with db.connection() as conn:
        if args.keys_cmd == "create":
            key, record = auth.create_key(
                conn, args.name, args.scopes.split(","), args.namespaces.split(","), actor="memos keys"
            )
            conn.commit()
            return {"key": key, **record}
        if args.keys_cmd == "list":
            return auth.list_keys(conn)
        auth.revoke_key(conn, args.key_id, actor="memos keys")
        conn.commit()
        return {"revoked": args.key_id}


def _cmd_keys(args: argparse.Namespace) -> int:
    from memos.sdk.errors import MemosApiError

    target = api_target(args)
    try:
        out = _keys_in_database(args) if target is None else _keys_over_http(args, *target)
    except MemosApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, default=str, indent=2))
    if args.keys_cmd == "create":
        print("store the key now: only its hash is kept", file=sys.stderr)
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    import anyio

    from memos.sdk.mcp_stdio import serve_stdio

    target = api_target(args)
    if target is None:
        print("error: memos mcp needs an API: --url (and --key), or a running `memos dev`", file=sys.stderr)
        return 2
    anyio.run(serve_stdio, target[0], target[1] or "")
    return 0


def _add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="a MemOS API (default: the running `memos dev` in --data-dir)")
    p.add_argument("--key", help="API key for --url (default: $MEMOS_API_KEY, else the local admin key)")
    p.add_argument("--data-dir", default=".memos", help="the local stack's data dir (default .memos)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memos", description="MemOS: memory for LLM agents")
    sub = p.add_subparsers(dest="cmd", required=True)
    dev = sub.add_parser("dev", help="run the local stack (embedded PostgreSQL, Redis, moto) and the API")
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument("--data-dir", default=".memos", help="where embedded PostgreSQL keeps its data")
    dev.add_argument("--demo", action="store_true", help="seed a demo conversation and show queries")
    dev.add_argument("--rotate-key", action="store_true", help="revoke the kept admin key and mint a new one")
    dev.add_argument(
        "--instances",
        type=int,
        default=1,
        help="API invocations in flight at once, each in its own process as a Lambda instance (default 1)",
    )
    dev.add_argument("--exit-after-demo", action="store_true", help=argparse.SUPPRESS)
    dev.set_defaults(func=_cmd_dev)
    demo = sub.add_parser("demo", help="memos dev --demo, then stop")
    demo.add_argument("--port", type=int, default=0)
    demo.add_argument("--data-dir", default=".memos")
    demo.set_defaults(func=_cmd_dev, demo=True, exit_after_demo=True, rotate_key=False)
    mig = sub.add_parser("migrate", help="apply SQL migrations to MEMOS_DATABASE_URL")
    mig.set_defaults(func=_cmd_migrate)
    re = sub.add_parser(
        "reembed",
        help="re-embed stored memories with the configured embedder (resumable, reads stay up); "
        "a new MEMOS_EMBED_DIM fills a shadow column and switches at the end (docs/DEPLOY.md)",
    )
    re.add_argument("--namespace", help="one namespace (default: the whole store; not with a new dimension)")
    re.add_argument("--abort", action="store_true", help="give up a dimension change before its switch")
    re.add_argument("--batch-size", type=int, default=256)
    re.add_argument("--max-batches", type=int, help="stop after this many batches (run again to resume)")
    re.set_defaults(func=_cmd_reembed)
    keys = sub.add_parser("keys", help="manage API keys (the local stack, --url, or MEMOS_DATABASE_URL)")
    _add_target_args(keys)
    ksub = keys.add_subparsers(dest="keys_cmd", required=True)
    kc = ksub.add_parser("create")
    kc.add_argument("--name", required=True)
    kc.add_argument(
        "--scopes", required=True, help="comma-separated: memory:write,memory:read,ops:read,admin"
    )
    kc.add_argument("--namespaces", required=True, help="comma-separated names or prefix*")
    ksub.add_parser("list")
    kr = ksub.add_parser("revoke")
    kr.add_argument("key_id")
    keys.set_defaults(func=_cmd_keys)
    mcp = sub.add_parser("mcp", help="MCP server over stdio (for desktop and IDE agents)")
    _add_target_args(mcp)
    mcp.set_defaults(func=_cmd_mcp)
    from infra.evaluation.cli import add_eval_parser

    add_eval_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args: Any = build_parser().parse_args(argv)
    from memos.kernel.errors import MemosError

    try:
        return int(args.func(args))
    except MemosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
