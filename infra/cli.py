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

    stack = LocalStack(Path(args.data_dir), port=args.port)
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


def _cmd_keys(args: argparse.Namespace) -> int:
    from memos.access import auth
    from memos.store import db

    with db.connection() as conn:
        if args.keys_cmd == "create":
            key, record = auth.create_key(
                conn, args.name, args.scopes.split(","), args.namespaces.split(","), actor="memos keys"
            )
            conn.commit()
            print(json.dumps({"key": key, **record}, default=str, indent=2))
            print("store the key now: only its hash is kept", file=sys.stderr)
        elif args.keys_cmd == "list":
            print(json.dumps(auth.list_keys(conn), default=str, indent=2))
        else:
            auth.revoke_key(conn, args.key_id, actor="memos keys")
            conn.commit()
            print(f"revoked {args.key_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memos", description="MemOS: memory for LLM agents")
    sub = p.add_subparsers(dest="cmd", required=True)
    dev = sub.add_parser("dev", help="run the local stack (embedded PostgreSQL, Redis, moto) and the API")
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument("--data-dir", default=".memos", help="where embedded PostgreSQL keeps its data")
    dev.add_argument("--demo", action="store_true", help="seed a demo conversation and show queries")
    dev.add_argument("--exit-after-demo", action="store_true", help=argparse.SUPPRESS)
    dev.set_defaults(func=_cmd_dev)
    demo = sub.add_parser("demo", help="memos dev --demo, then stop")
    demo.add_argument("--port", type=int, default=0)
    demo.add_argument("--data-dir", default=".memos")
    demo.set_defaults(func=_cmd_dev, demo=True, exit_after_demo=True)
    mig = sub.add_parser("migrate", help="apply SQL migrations to MEMOS_DATABASE_URL")
    mig.set_defaults(func=_cmd_migrate)
    keys = sub.add_parser("keys", help="manage API keys (MEMOS_DATABASE_URL)")
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
