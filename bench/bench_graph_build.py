"""Graph build parameters side by side in one store: what each costs to build, what its walk costs
the query's vector statement and finds (recall@10 against exact distance), and how fast maintenance
moves rows into it.

    python bench/bench_graph_build.py [--ns-rows 100000] [--total-rows 1000000] [--namespaces 1000]
                                      [--queries 300] [--drain 400]

The store is bulk-loaded as ``bench_query.py`` loads it (``bench_common.bulk_load``: one namespace of
NS_ROWS, the rest of TOTAL_ROWS spread over the others). The large namespace's rows are then copied
into one namespace per variant (same texts, same vectors, new ids), each getting its own partial HNSW
index the way ``memos.store.ann.build`` builds one (a watermark, ``CREATE INDEX CONCURRENTLY``) with
the variant's parameters. Then, alternating the variants query by query in one run:

1. the query path's vector statement (``memos.store.ann.nearest_sql`` as ``bench_query.py`` runs it,
   planned without sorts, the walk ordered by the graph's expression, ``ann.walk_order``) at each
   variant's ``ef_search``: p50/p95 and recall@10 against exact distance over the namespace;
2. the drain (``memos.store.ann.drain``): DRAIN rows written after the build (copies of the
   namespace's rows), moved into each graph, twice, in rows/s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench_common import TextSource, admin_conn, bulk_load, local_stack, machine, pct, table, write_result
from bench_query import _EXACT, SORTED, UNSORTED, _literal, nearest_statement

SOURCE = "bench-q-main"
# (label, namespace, WITH of the build, halfvec, ef_search values to walk it with)
VARIANTS = [
    ("m 16, ef_construction 64, vector", "bench-g-v64", "m = 16, ef_construction = 64", False, (160,)),
    ("m 16, ef_construction 128, vector", "bench-g-v128", "m = 16, ef_construction = 128", False, (120,)),
    ("m 16, ef_construction 128, halfvec", "bench-g-h128", "m = 16, ef_construction = 128", True, (120, 140)),
]


def copy_namespace(conn: Any, source: str, target: str, n: int | None = None, fresh: bool = False) -> None:
    """Copy ``source``'s rows (or ``n`` random ones) into ``target`` with new ids (and, ``fresh``,
    written now and not in any graph: a backlog)."""
    cols = [
        r["column_name"]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'memories'"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position"
        ).fetchall()
    ]
    new = {"id": "gen_random_uuid()", "namespace": "%(target)s"}
    if fresh:
        new |= {"created_at": "clock_timestamp()", "in_graph": "false", "content_hash": "md5(random()::text)"}
    select = ", ".join(new.get(c, c) for c in cols)
    limit = " ORDER BY random() LIMIT %(n)s" if n else ""
    conn.execute(
        f"INSERT INTO memories ({', '.join(cols)}) SELECT {select} FROM memories WHERE namespace = %(source)s{limit}",
        {"target": target, "source": source, "n": n},
    )


def build(conn: Any, ns: str, with_: str, half: bool, rows: int) -> float:
    """The namespace's graph as ``ann.build`` builds it, with these parameters; returns seconds."""
    from memos.store import ann

    dim = conn.execute("SELECT vector_dims(embedding) AS d FROM memories LIMIT 1").fetchone()["d"]
    through = conn.execute("SELECT date_trunc('milliseconds', clock_timestamp()) AS t").fetchone()["t"]
    name = ann.index_name(ns) + "_ab"
    column = f"(embedding::halfvec({dim})) halfvec_cosine_ops" if half else "embedding vector_cosine_ops"
    graph = ann.Graph(name, through)
    t = time.perf_counter()
    conn.execute(
        f'CREATE INDEX CONCURRENTLY "{name}" ON memories USING hnsw ({column}) WITH ({with_})'
        f" WHERE namespace = {_literal(conn, ns)} AND {ann.in_graph_sql(graph)}"
    )
    seconds = time.perf_counter() - t
    conn.execute(
        "INSERT INTO ann_indexes (namespace, index_name, memories, graph_through) VALUES (%s, %s, %s, %s)",
        (ns, name, rows, through),
    )
    return seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns-rows", type=int, default=100_000)
    ap.add_argument("--total-rows", type=int, default=1_000_000)
    ap.add_argument("--namespaces", type=int, default=1_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--drain", type=int, default=400)
    args = ap.parse_args(argv)
    started = machine()
    texts = TextSource(seed=23)
    others = args.namespaces - 1
    per_other = (args.total_rows - args.ns_rows) // max(others, 1)
    layout = {SOURCE: args.ns_rows, **{f"bench-q-{i:04d}": per_other for i in range(others)}}
    out: dict[str, Any] = {"namespace_rows": args.ns_rows, "store_rows": sum(layout.values()), "variants": {}}
    with local_stack(), admin_conn() as conn:
        out["load_s"] = bulk_load(conn, layout, texts, age_days=120)
        for label, ns, with_, half, _ in VARIANTS:
            copy_namespace(conn, SOURCE, ns)
            conn.execute("VACUUM ANALYZE memories")
            secs = build(conn, ns, with_, half, args.ns_rows)
            name = conn.execute("SELECT index_name FROM ann_indexes WHERE namespace = %s", (ns,)).fetchone()
            mb = conn.execute("SELECT pg_relation_size(%s::regclass) / 1048576 AS mb", (name["index_name"],))
            out["variants"][label] = {"build_s": round(secs, 1), "index_mb": mb.fetchone()["mb"]}
            print(f"{label}: built in {secs:.1f} s")
        from memos.embeddings import get_embedder
        from memos.store import ann

        asked = TextSource(seed=99)
        vecs = get_embedder().embed([asked.query() for _ in range(args.queries)])
        for s in ann.SEARCH_SETTINGS:
            conn.execute(s)
        runs = [(label, ns, ef) for label, ns, _, _, efs in VARIANTS for ef in efs]
        stmts = {ns: nearest_statement(conn, ns) for _, ns, _, _, _ in VARIANTS}
        exact = {
            ns: [
                {r["id"] for r in conn.execute(_EXACT, {"qvec": v, "n": 10, "ns": ns}).fetchall()}
                for v in vecs
            ]
            for ns in stmts
        }
        lat: dict[tuple[str, int], list[float]] = {(label, ef): [] for label, _, ef in runs}
        rec: dict[tuple[str, int], list[float]] = {(label, ef): [] for label, _, ef in runs}
        for i, v in enumerate([*vecs[:20], *vecs]):  # the first 20 warm the caches
            for label, ns, ef in runs if i % 2 == 0 else runs[::-1]:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                conn.execute(UNSORTED)
                t = time.perf_counter()
                got = {r["id"] for r in conn.execute(stmts[ns], {"qvec": v, "n": 10, "ns": ns}).fetchall()}
                ms = time.perf_counter() - t
                conn.execute(SORTED)
                if i >= 20:
                    lat[(label, ef)].append(ms)
                    rec[(label, ef)].append(len(got & exact[ns][i - 20]) / max(1, len(exact[ns][i - 20])))
        drained: dict[str, list[float]] = {label: [] for label, *_ in VARIANTS}
        for rnd in range(2):
            for label, ns, *_ in VARIANTS if rnd == 0 else VARIANTS[::-1]:
                copy_namespace(conn, ns, ns, args.drain, fresh=True)
                graph = ann.graph_of(conn, ns)
                assert graph is not None
                t, moved = time.perf_counter(), 0
                while n := ann.drain(conn, ns, graph):
                    moved += n
                drained[label].append(round(moved / (time.perf_counter() - t), 1))
    rows = []
    for (label, ef), xs in lat.items():
        p = pct(xs)
        r = {"recall_at_10": round(statistics.mean(rec[(label, ef)]), 4), **p}
        out["variants"][label][f"ef_search {ef}"] = r
        out["variants"][label]["drain_rows_per_s"] = drained[label]
        rows.append((label, ef, r["recall_at_10"], p["p50_ms"], p["p95_ms"]))
    table(("graph", "ef_search", "recall@10", "p50 ms", "p95 ms"), rows)
    table(
        ("graph", "build s", "index MB", "drain rows/s"),
        [(label, v["build_s"], v["index_mb"], v["drain_rows_per_s"]) for label, v in out["variants"].items()],
    )
    write_result("graph-build", f"{args.ns_rows // 1000}k-{out['store_rows'] // 1000}k", out, started)
    return out


if __name__ == "__main__":
    main()
