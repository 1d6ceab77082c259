"""How much pgvector's HNSW index costs each insert, on this machine.

20,000 random 384-dim rows are COPY-loaded, then 3,000 more inserted one statement each
(executemany) with: no vector index, HNSW with pgvector's defaults (m 16, ef_construction 64),
and HNSW with m 8, ef_construction 32 (what the schema uses). Run: python bench/bench_hnsw_insert.py
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from infra.local.services import EmbeddedPostgres

pg = EmbeddedPostgres(Path(tempfile.mkdtemp()) / "pg")
url = pg.start()
with psycopg.connect(url, autocommit=True) as c:
    c.execute("create extension vector")
    register_vector(c)
    for name, idx in [
        ("none", ""),
        ("hnsw16", "create index on t using hnsw (e vector_cosine_ops)"),
        ("hnsw8", "create index on t using hnsw (e vector_cosine_ops) with (m=8, ef_construction=32)"),
    ]:
        c.execute("drop table if exists t")
        c.execute("create table t (id bigserial primary key, e vector(384))")
        if idx:
            c.execute(idx)
        rng = np.random.default_rng(0)
        # pre-fill 20k rows so the graph is not trivial
        data = rng.standard_normal((20000, 384)).astype(np.float32)
        with c.cursor().copy("COPY t (e) FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["vector"])
            for v in data:
                cp.write_row([v])
        batch = rng.standard_normal((3000, 384)).astype(np.float32)
        t = time.perf_counter()
        with c.cursor() as cur:
            cur.executemany("insert into t (e) values (%s)", [(v,) for v in batch])
        print(name, f"{3000 / (time.perf_counter() - t):.0f} rows/s")
pg.stop()
