"""Where the candidates step's time goes at SPEC size, per retriever and per kind of question.

    python bench/bench_query.py --full --data-dir DIR --load-only     # once: the 1M store
    python bench/profile_retrievers.py --data-dir DIR [--queries 300] [--explain 3] [--ranges 3,7,30]
                                       [--probes-base PATH]

Opens the store ``bench_query.py --data-dir`` kept (its large namespace and its questions) and, per
question, classes it: *temporal* (it names a time: ``parse_time_range``), *multi-hop* (the second
round ran: ``multihop.expand`` returned rows), else *plain*. Then, query by query, in the query's
own kind of transaction, ``memos.store.candidates.fetch`` runs with the vector retriever alone, with
the lexical one added, with the temporal one added (temporal questions), and the second round
(``multihop.expand``) after the full first round: the differences are each retriever's cost. The
medians and p95s per kind, the whole query's (``memos.retrieval.search.query``) beside them, and
with ``--explain N`` the ``EXPLAIN (ANALYZE, BUFFERS)`` of the lexical, temporal and probe
statements of the first N questions of each kind that has them. ``--probes-base PATH``: the second
round's statement (``memos.store.expansion.probes_and_parts``) of PATH's checkout against this one's,
alternating, for every question with parts (their part probes) or naming a relation (a named probe).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_common import admin_conn, local_stack, machine

TARGET = "bench-q-main"
EXACT_RANGE = "span AS MATERIALIZED (SELECT false AS wide)"


def _exact_range() -> str:
    return EXACT_RANGE


def _p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 2)


def probes_ab(base: Path, questions: list[str], ns: str) -> None:
    """The second round's statement of ``base``'s checkout and of this one, alternating, 4 rounds."""
    import importlib.util

    from memos.embeddings import get_embedder
    from memos.models import QueryRequest
    from memos.retrieval import ann, multihop
    from memos.store import db
    from memos.store import expansion as this

    spec = importlib.util.spec_from_file_location("base_expansion", base / "layers/memos/store/expansion.py")
    assert spec is not None and spec.loader is not None
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    embedder = get_embedder()
    chosen = [
        q
        for q in dict.fromkeys(questions)
        if multihop._RELATION.search(q) or len(multihop.split_question(q)) > 1
    ]
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    same = total = 0
    for rnd in range(4):  # the first warms both
        for i, q in enumerate(chosen):
            req = QueryRequest(namespace=ns, query=q)
            qvec = embedder.embed([q])[0]
            parts = multihop.split_question(q)
            kind = "part probes" if len(parts) > 1 else "a named probe"
            probes = (
                [(v, None) for v in embedder.embed(parts)]
                if len(parts) > 1
                else [(embedder.embed([f"{q} rosa"])[0], "rosa")]
            )
            got = {}
            for side, mod in (
                (("base", other), ("this", this)) if (i + rnd) % 2 else (("this", this), ("base", other))
            ):
                with db.connection() as conn:
                    graph = ann.uses_index(conn, ns)
                    conn.execute(
                        f"SET LOCAL hnsw.ef_search = {graph.ef_search or 160}" if graph else "SELECT 1"
                    )
                    t = time.perf_counter()
                    rows, _ = mod.probes_and_parts(
                        conn, req, qvec, probes, 12, ann_index=graph, entity_names=["zoe"]
                    )
                    if rnd:
                        times[(kind, side)].append((time.perf_counter() - t) * 1000)
                    got[side] = [(r["id"], r["probe"], round(float(r["psim"]), 9)) for r in rows]
            if rnd:
                same += got["base"] == got["this"]
                total += 1
    for (kind, side), v in sorted(times.items()):
        print(f"{kind:<14} {side:<5} n {len(v):4d} p50 {_p(v, 0.5):7.2f} p95 {_p(v, 0.95):7.2f} ms")
    print(f"the same rows: {same}/{total}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--explain", type=int, default=0)
    ap.add_argument("--namespace", default=TARGET)
    ap.add_argument("--probes-base", type=Path, help="a checkout whose second-round statement to compare")
    ap.add_argument(
        "--ranges",
        default="",
        help="days, e.g. 1,3,7,30: the temporal retriever over ranges this wide, both ways",
    )
    args = ap.parse_args(argv)
    kept = json.loads((args.data_dir / "bench_query.json").read_text())
    questions: list[str] = kept["queries"][: args.queries]
    print(machine())
    with local_stack(args.data_dir):
        import psycopg

        from memos.embeddings import get_embedder
        from memos.governance import entities
        from memos.kernel.text import content_terms
        from memos.models import QueryRequest
        from memos.retrieval import ann, lexical, multihop
        from memos.retrieval.search import CANDIDATE_FLOOR, query
        from memos.retrieval.timeexpr import parse_time_range
        from memos.store import ann as store_ann
        from memos.store import candidates, db, first_reads

        ns = args.namespace
        embedder = get_embedder()
        for q in questions:  # warm: every question once (pages in shared buffers, prepared statements)
            query(QueryRequest(namespace=ns, query=q))

        def ms_since(t: float) -> float:
            return (time.perf_counter() - t) * 1000

        rows_by_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        kinds: list[str] = []
        recall: dict[int, list[float]] = defaultdict(list)  # temporal rows against exact over the range

        def measure(q: str) -> None:
            req = QueryRequest(namespace=ns, query=q)
            t = time.perf_counter()
            resp = query(req)
            total = ms_since(t)
            when = parse_time_range(q)
            period = (when.start, when.end) if when else None
            with db.connection() as conn:
                first = first_reads.read(conn, ns, content_terms(q), entities.names_to_look_up(q), None)
                stats = lexical.stats_of(*first.counts)
                names = sorted(set(first.known.values()))
                qvec = embedder.embed([q])[0]
                graph = ann.uses_index(conn, ns)
                ef = ann.ef_search_for(first.counts[0])
                terms = lexical.query_terms(q, stats)
                n = max(CANDIDATE_FLOOR, req.top_k * 4)
                took = []
                temporal: list[list[Any]] = []
                shipped = candidates.wide_range_sql
                for lex, per, exact in (
                    ((), None, False),
                    (terms, None, False),
                    (terms, period, True),
                    (terms, period, False),
                ):
                    if exact:  # the temporal retriever exact whatever the range holds (main's)
                        candidates.wide_range_sql = _exact_range  # type: ignore[assignment]
                    t = time.perf_counter()
                    with conn.transaction():
                        rows = candidates.fetch(
                            conn, req, qvec, n, lex, per, ann_index=graph, entity_names=names, ef_search=ef
                        )
                    took.append(ms_since(t))
                    candidates.wide_range_sql = shipped  # type: ignore[assignment]
                    by_sim = sorted(
                        (r for r in rows if r.get("src", r.get("?column?")) == "temporal"),
                        key=lambda r: -r["vsim"],
                    )
                    temporal.append([r["id"] for r in by_sim])
                t = time.perf_counter()
                with conn.transaction():
                    extra = multihop.expand(
                        conn, req, qvec, rows, stats, embedder, ann_index=graph, entity_names=names
                    )
                t_hop = ms_since(t)
            kind = "temporal" if when else "multi-hop" if extra else "plain"
            kinds.append(kind)
            for k in (kind, "all"):
                r = rows_by_kind[k]
                r["query total"].append(total)
                r["candidates step"].append(resp.timings_ms.get("candidates", 0.0))
                r["vector alone"].append(took[0])
                r["+ lexical"].append(max(0.0, took[1] - took[0]))
                if when:
                    r["+ temporal, exact"].append(max(0.0, took[2] - took[1]))
                    r["+ temporal"].append(max(0.0, took[3] - took[1]))
                    exact_ids, got = temporal[2], temporal[3]
                    if exact_ids:
                        for k in (10, n):
                            share = len(set(exact_ids[:k]) & set(got[:k])) / len(exact_ids[:k])
                            recall[k].append(share)
                if extra:
                    r["second round"].append(t_hop)

        def ranged(days: int) -> None:
            """The temporal retriever alone over the last ``days`` of the namespace, exact and as shipped,
            alternating question by question; recall of the shipped rows against the exact ones."""
            with admin_conn() as c:
                last = c.execute(
                    "SELECT max(occurred_at) AS t FROM memories WHERE namespace = %s AND status = 'active'",
                    (ns,),
                ).fetchone()["t"]
                held = c.execute(
                    "SELECT count(*) AS n FROM memories WHERE namespace = %s AND status = 'active'"
                    " AND occurred_at > %s - make_interval(days => %s)",
                    (ns, last, days),
                ).fetchone()["n"]
            period = (last - timedelta(days=days), last + timedelta(seconds=1))
            times: dict[str, list[float]] = defaultdict(list)
            shares: dict[int, list[float]] = defaultdict(list)
            for i, q in enumerate(questions[:100]):
                req = QueryRequest(namespace=ns, query=q)
                qvec = embedder.embed([q])[0]
                got: dict[str, list[Any]] = {}
                for way in ("exact", "shipped") if i % 2 else ("shipped", "exact"):
                    candidates.wide_range_sql = _exact_range if way == "exact" else shipped  # type: ignore[assignment]
                    with db.connection() as conn:
                        graph = ann.uses_index(conn, ns)
                        t = time.perf_counter()
                        rows = candidates.fetch(conn, req, qvec, 40, (), period, ann_index=graph)
                        times[way].append(ms_since(t))
                    candidates.wide_range_sql = shipped  # type: ignore[assignment]
                    by_sim = sorted((r for r in rows if r.get("src") == "temporal"), key=lambda r: -r["vsim"])
                    got[way] = [r["id"] for r in by_sim]
                for k in (10, 40):
                    want = got["exact"][:k]
                    shares[k].append(len(set(want) & set(got["shipped"][:k])) / max(1, len(want)))
            print(
                f"last {days} days ({held:,} rows): vector + temporal statement p50/p95 ms"
                f" exact {_p(times['exact'], 0.5)}/{_p(times['exact'], 0.95)},"
                f" shipped {_p(times['shipped'], 0.5)}/{_p(times['shipped'], 0.95)};"
                f" recall@10 {statistics.mean(shares[10]):.4f}, recall@40 {statistics.mean(shares[40]):.4f}"
            )

        shipped = candidates.wide_range_sql
        if args.probes_base:
            probes_ab(args.probes_base, questions, ns)
            return
        for q in questions:
            measure(q)
        print(
            f"\n{len(questions)} questions in {ns}: "
            + ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
        )
        print(f"{'kind':<10} {'part':<16} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for kind in ("plain", "temporal", "multi-hop", "all"):
            for part, v in rows_by_kind.get(kind, {}).items():
                print(
                    f"{kind:<10} {part:<16} {len(v):4d} {_p(v, 0.5):8.2f} {_p(v, 0.95):8.2f} {_p(v, 0.99):8.2f}"
                )
        for days in [int(d) for d in args.ranges.split(",") if d]:
            ranged(days)
        for k, shares in recall.items():
            print(
                f"temporal retriever recall@{k} against exact over the range: {statistics.mean(shares):.4f}"
                f" ({len(shares)} questions with rows in their range, min {min(shares):.2f})"
            )
        if not args.explain:
            return
        captured: list[tuple[Any, Any]] = []
        execute = psycopg.Cursor.execute

        def executed(self: Any, stmt: Any, params: Any = None, *a: Any, **k: Any) -> Any:
            captured.append((stmt, params))
            return execute(self, stmt, params, *a, **k)

        psycopg.Cursor.execute = executed  # type: ignore[method-assign, assignment]
        shown: dict[str, int] = defaultdict(int)
        for q, kind in zip(questions, kinds, strict=True):
            if kind == "plain" and shown["lexical"] >= args.explain:
                continue
            captured.clear()
            query(QueryRequest(namespace=ns, query=q))
            run = list(captured)
            with admin_conn() as c, c.transaction():
                for setting in store_ann.SEARCH_SETTINGS:  # what every pooled connection sets
                    c.execute(setting)
                for stmt, params in run:
                    text = stmt if isinstance(stmt, str) else stmt.as_string(c)
                    head = text.lstrip().upper()
                    if head.startswith("SET"):
                        c.execute(text)
                        continue
                    label = (
                        "probe"
                        if "AS p(vec, probe" in text
                        else "temporal"
                        if "'temporal'" in text
                        else "lexical"
                        if "'lexical'" in text
                        else None
                    )
                    if label is None or shown[label] >= args.explain:
                        continue
                    shown[label] += 1
                    plan = c.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params).fetchall()
                    print(f"\n--- {label} ({kind}): {q!r}")
                    print("\n".join("  " + next(iter(r.values()))[:200] for r in plan))
            if all(shown[k] >= args.explain for k in ("lexical", "temporal", "probe")):
                break


if __name__ == "__main__":
    main()
