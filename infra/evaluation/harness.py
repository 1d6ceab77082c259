"""The eval harness: ingest every conversation through the HTTP API, ask every question, score.

MemOS is measured over the real API (``POST /v1/ingest``, ``POST /v1/query``), one namespace per
conversation in one store; the baselines (BM25, plain vector) run in-process over exactly the same
turn texts, each scoped to its conversation. Latencies are client-side wall times per request
(for the baselines: in-process index build and search times, so not comparable to HTTP latencies).
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.evaluation import metrics
from infra.evaluation.baselines import BM25Index, VectorIndex
from infra.evaluation.datasets import Conversation, Dataset, Question, Turn
from memos.kernel.tokens import count_tokens

SYSTEMS = ("memos", "bm25", "vector")
INGEST_BATCH = 500
DEFAULT_TOKEN_BUDGET = 1500  # the default policy's budget, sent explicitly so results are reproducible
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:@-]")


def api_name(*parts: str) -> str:
    """A namespace or session id the API accepts: [A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}."""
    name = _BAD_NAME_CHARS.sub("-", "-".join(p for p in parts if p)).strip("-._:@") or "x"
    return name[:128]


def turn_text(turn: Turn) -> str:
    """What every system indexes: the speaker's name matters to questions about people."""
    return f"{turn.speaker}: {turn.text}" if turn.speaker else turn.text


@dataclass
class QuestionOutcome:
    system: str
    conversation: str
    question: Question
    ranked: list[list[str]]
    context_tokens: int
    conversation_tokens: int
    foreign: int = 0
    unknown: int = 0
    latency_ms: float = 0.0
    error: str | None = None

    def scores(self, k_values: Sequence[int]) -> dict[str, float | None]:
        ev = self.question.evidence
        out: dict[str, float | None] = {}
        for k in k_values:
            out[f"recall@{k}"] = metrics.recall_at_k(self.ranked, ev, k)
            out[f"hit@{k}"] = metrics.hit_at_k(self.ranked, ev, k)
        out["mrr"] = metrics.reciprocal_rank(self.ranked, ev)
        out["token_savings"] = metrics.token_savings(self.context_tokens, self.conversation_tokens)
        return out


@dataclass
class SystemRun:
    outcomes: list[QuestionOutcome] = field(default_factory=list)
    ingest_ms: list[float] = field(default_factory=list)
    query_ms: list[float] = field(default_factory=list)
    errors: int = 0


def _select_questions(dataset: Dataset, limit: int | None) -> dict[str, list[Question]]:
    """All questions, or ``limit`` of them at evenly spaced positions (deterministic, spread over
    conversations and categories)."""
    chosen: dict[str, list[Question]] = {c.id: [] for c in dataset.conversations}
    flat = [(c.id, q) for c in dataset.conversations for q in c.questions]
    if limit is not None and limit < len(flat):
        flat = [flat[i * len(flat) // limit] for i in range(limit)]
    for cid, q in flat:
        chosen[cid].append(q)
    return chosen


# --- MemOS over HTTP -------------------------------------------------------------------------------


class _MemosSystem:
    def __init__(self, client: Any, run: SystemRun, top_k: int, token_budget: int | None) -> None:
        self.client, self.run, self.top_k, self.token_budget = client, run, top_k, token_budget
        self.namespace_of: dict[str, str] = {}  # memory_id -> namespace, over every conversation
        self.turns_of: dict[str, list[str]] = {}  # memory_id -> turn ids (several if deduplicated)

    def ingest(self, turns: list[tuple[Turn, str]], namespace: str) -> None:
        """Turns as (turn, session id) pairs in conversation order; batches of INGEST_BATCH."""
        for start in range(0, len(turns), INGEST_BATCH):
            batch = turns[start : start + INGEST_BATCH]
            items = [
                {
                    "session_id": api_name(sess_id),
                    "role": t.role,
                    # MemOS gets the turn as a client would send it: the words said, and who said
                    # them in metadata (indexed lexically); baselines index "speaker: text".
                    "text": t.text,
                    "occurred_at": t.occurred_at.isoformat(),
                    "metadata": {"turn_id": t.id, "speaker": t.speaker},
                }
                for t, sess_id in batch
            ]
            t0 = time.perf_counter()
            resp = self.client.ingest({"namespace": namespace, "items": items})
            self.run.ingest_ms.append((time.perf_counter() - t0) * 1000)
            body = resp.ok()
            memories = body["memories"]
            if len(memories) != len(items):
                raise RuntimeError(f"ingest returned {len(memories)} memories for {len(items)} items")
            for (turn, _), mem in zip(batch, memories, strict=True):
                mid = str(mem["memory_id"])
                self.namespace_of.setdefault(mid, namespace)
                self.turns_of.setdefault(mid, []).append(turn.id)

    def ask(self, conv: Conversation, namespace: str, q: Question, conv_tokens: int) -> QuestionOutcome:
        body: dict[str, Any] = {"namespace": namespace, "query": q.question[:4000], "top_k": self.top_k}
        if self.token_budget is not None:
            body["token_budget"] = self.token_budget
        t0 = time.perf_counter()
        resp = self.client.query(body)
        elapsed = (time.perf_counter() - t0) * 1000
        self.run.query_ms.append(elapsed)
        if resp.status >= 400:
            self.run.errors += 1
            return QuestionOutcome(
                "memos",
                conv.id,
                q,
                [],
                0,
                conv_tokens,
                latency_ms=elapsed,
                error=f"HTTP {resp.status}: {str(resp.body)[:200]}",
            )
        data = resp.body
        ranked: list[list[str]] = []
        namespaces: list[str | None] = []
        unknown = 0
        for r in data["results"]:
            mid = str(r["memory_id"])
            ids = self.turns_of.get(mid) or (
                [str(r["metadata"]["turn_id"])] if (r.get("metadata") or {}).get("turn_id") else []
            )
            ranked.append(ids)
            ns = self.namespace_of.get(mid)
            unknown += ns is None
            namespaces.append(ns)
        foreign, _ = metrics.pollution(namespaces, namespace)
        return QuestionOutcome(
            "memos",
            conv.id,
            q,
            ranked,
            int(data["context_pack"]["tokens"]),
            conv_tokens,
            foreign=foreign,
            unknown=unknown,
            latency_ms=elapsed,
        )


# --- the run ---------------------------------------------------------------------------------------


def _with_sessions(conv: Conversation) -> list[tuple[Turn, str]]:
    return [(t, s.session_id) for s in conv.sessions for t in s.turns]


def run_eval(
    dataset: Dataset,
    base_url: str | None,
    api_key: str | None,
    k_values: Iterable[int] = (1, 5, 10),
    top_k: int = 10,
    token_budget: int | None = DEFAULT_TOKEN_BUDGET,
    systems: Iterable[str] = SYSTEMS,
    limit_questions: int | None = None,
    namespace_prefix: str = "eval",
    progress: Callable[[str], None] | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Run the systems over the dataset; returns overall and per-category metrics and latencies."""
    systems = tuple(systems)
    unknown_systems = set(systems) - set(SYSTEMS)
    if unknown_systems:
        raise ValueError(f"unknown systems: {sorted(unknown_systems)} (known: {', '.join(SYSTEMS)})")
    ks = sorted({k for k in k_values if 0 < k <= top_k})
    say = progress or (lambda _msg: None)
    run_id = uuid.uuid4().hex[:8]
    questions = _select_questions(dataset, limit_questions)
    runs = {s: SystemRun() for s in systems}

    memos_sys: _MemosSystem | None = None
    if "memos" in systems:
        if client is None:
            from infra.local.client import MemosClient

            if not base_url:
                raise ValueError("the memos system needs a base_url")
            client = MemosClient(base_url, api_key, timeout_s=120)
        memos_sys = _MemosSystem(client, runs["memos"], top_k, token_budget)

    namespaces: dict[str, str] = {}
    for conv in dataset.conversations:  # ingest everything first: one store, all namespaces
        ns = api_name(namespace_prefix, run_id, conv.namespace or conv.id)
        namespaces[conv.id] = ns
        if memos_sys is not None:
            t0 = time.perf_counter()
            memos_sys.ingest(_with_sessions(conv), ns)
            say(f"ingested {conv.id}: {len(conv.turns())} turns into {ns} in {time.perf_counter() - t0:.1f}s")

    for conv in dataset.conversations:
        qs = questions.get(conv.id) or []
        if not qs:
            continue
        turns = conv.turns()
        texts = [turn_text(t) for t in turns]
        token_counts = [count_tokens(x) for x in texts]
        conv_tokens = sum(token_counts)
        ns = namespaces[conv.id]
        indexes: dict[str, BM25Index | VectorIndex] = {}
        for name, cls in (("bm25", BM25Index), ("vector", VectorIndex)):
            if name in systems:
                t0 = time.perf_counter()
                indexes[name] = cls(texts)
                runs[name].ingest_ms.append((time.perf_counter() - t0) * 1000)
        for q in qs:
            if memos_sys is not None:
                runs["memos"].outcomes.append(memos_sys.ask(conv, ns, q, conv_tokens))
            for name, index in indexes.items():
                t0 = time.perf_counter()
                hits = index.search(q.question, top_k)
                elapsed = (time.perf_counter() - t0) * 1000
                runs[name].query_ms.append(elapsed)
                runs[name].outcomes.append(
                    QuestionOutcome(
                        name,
                        conv.id,
                        q,
                        [[turns[i].id] for i in hits],
                        sum(token_counts[i] for i in hits),
                        conv_tokens,
                        latency_ms=elapsed,
                    )
                )
        say(f"asked {len(qs)} questions of {conv.id}")

    asked = [q for qs in questions.values() for q in qs]
    return {
        "dataset": dataset.name,
        "format": dataset.source_format,
        "config": {
            "top_k": top_k,
            "k_values": ks,
            "token_budget": token_budget,
            "systems": list(systems),
            "limit_questions": limit_questions,
            "base_url": base_url if memos_sys else None,
            "namespace_prefix": f"{namespace_prefix}-{run_id}",
        },
        "counts": {
            "conversations": len(dataset.conversations),
            "turns": dataset.n_turns,
            "questions": len(asked),
            "questions_with_evidence": sum(1 for q in asked if q.evidence),
            "dropped_evidence_ids": dataset.dropped_evidence,
        },
        "systems": {name: summarize(run, ks) for name, run in runs.items()},
        # Requests the API rate-limited (429) and the client retried: reported, never counted as misses.
        "throttled_requests_retried": int(getattr(client, "throttled", 0)) if memos_sys else 0,
        "failed_requests": runs["memos"].errors if "memos" in runs else 0,
    }


def _aggregate(outcomes: list[QuestionOutcome], ks: Sequence[int]) -> dict[str, Any]:
    rows = [o.scores(ks) for o in outcomes]
    keys = [f"recall@{k}" for k in ks] + [f"hit@{k}" for k in ks] + ["mrr", "token_savings"]
    out: dict[str, Any] = {key: metrics.mean(r[key] for r in rows) for key in keys}
    foreign = sum(o.foreign for o in outcomes)
    returned = sum(len(o.ranked) for o in outcomes)
    out["pollution_rate"] = foreign / returned if returned else 0.0
    out["results_returned"] = returned
    out["foreign_results"] = foreign
    out["unknown_results"] = sum(o.unknown for o in outcomes)
    out["questions"] = len(outcomes)
    out["questions_with_evidence"] = sum(1 for o in outcomes if o.question.evidence)
    out["errors"] = sum(1 for o in outcomes if o.error)
    # Unanswerable questions (no evidence): the share answered with no results at all.
    negatives = [o for o in outcomes if not o.question.evidence and not o.error]
    out["abstained"] = sum(1 for o in negatives if not o.ranked) / len(negatives) if negatives else None
    return out


def summarize(run: SystemRun, ks: Sequence[int]) -> dict[str, Any]:
    by_cat: dict[str, list[QuestionOutcome]] = {}
    for o in run.outcomes:
        by_cat.setdefault(o.question.category, []).append(o)
    return {
        "overall": _aggregate(run.outcomes, ks),
        "by_category": {cat: _aggregate(outs, ks) for cat, outs in sorted(by_cat.items())},
        "latency_ms": {
            "ingest": metrics.latency_summary(run.ingest_ms),
            "query": metrics.latency_summary(run.query_ms),
        },
        "errors": [{"question": o.question.id, "error": o.error} for o in run.outcomes if o.error][:20],
    }


def _fmt(value: Any, pct: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}" if pct else f"{value:.1f}"


def format_table(results: dict[str, Any]) -> str:
    ks = results["config"]["k_values"]
    head = [
        "system",
        "category",
        "n",
        *[f"R@{k}" for k in ks],
        *[f"Hit@{k}" for k in ks],
        "MRR",
        "TokSave%",
        "Pollut%",
        "Abst%",
    ]
    rows: list[list[str]] = []
    for name, res in results["systems"].items():
        for cat, agg in [("ALL", res["overall"]), *res["by_category"].items()]:
            rows.append(
                [
                    name,
                    cat,
                    str(agg["questions"]),
                    *[_fmt(agg[f"recall@{k}"]) for k in ks],
                    *[_fmt(agg[f"hit@{k}"]) for k in ks],
                    "-" if agg["mrr"] is None else f"{agg['mrr']:.3f}",
                    _fmt(agg["token_savings"]),
                    _fmt(agg["pollution_rate"]),
                    _fmt(agg.get("abstained")),
                ]
            )
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = [
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    lines.append("")
    lines.append("latency ms (client-side; baselines in-process)   ingest p50/p95      query p50/p95")
    for name, res in results["systems"].items():
        ing, qry = res["latency_ms"]["ingest"], res["latency_ms"]["query"]
        lines.append(
            f"  {name:<8} {_fmt(ing['p50'], False):>10} / {_fmt(ing['p95'], False):<10}"
            f" {_fmt(qry['p50'], False):>10} / {_fmt(qry['p95'], False):<10}"
            f" (n={ing['n']} ingest requests, {qry['n']} queries)"
        )
    lines.append(
        f"rate limiting: {results.get('throttled_requests_retried', 0)} requests got 429 and were retried;"
        f" {results.get('failed_requests', 0)} queries failed"
    )
    return "\n".join(lines)


def write_results(results: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def print_results(results: dict[str, Any], file: Any = None) -> None:
    print(format_table(results), file=file or sys.stdout)
