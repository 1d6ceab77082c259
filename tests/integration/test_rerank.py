"""The optional reranker (off by default): Bedrock Rerank through botocore's Stubber, on a real query."""

from __future__ import annotations

from collections.abc import Sequence

import boto3
from botocore.stub import ANY, Stubber

from memos.kernel.config import Settings
from memos.models import QueryRequest
from memos.retrieval import rerank, search
from memos.store import db


def seed(api, ns):
    items = [
        {"session_id": "s", "role": "user", "text": "We moved to Lisbon in 2021, the flat has a balcony."},
        {"session_id": "s", "role": "user", "text": "Lisbon trams are always full in summer."},
        {"session_id": "s", "role": "user", "text": "My favourite pastry in Lisbon is the pastel de nata."},
    ]
    api.call("POST", "/v1/ingest", {"namespace": ns, "items": items})


def stubbed() -> tuple[rerank.BedrockReranker, Stubber]:
    client = boto3.client("bedrock-agent-runtime", region_name="us-east-1")
    return rerank.BedrockReranker(Settings(aws_region="us-east-1"), client), Stubber(client)


def test_reranking_is_off_by_default_and_bedrock_when_configured():
    assert rerank.make_reranker(Settings()) is None
    chosen = rerank.make_reranker(Settings(reranker="bedrock", aws_region="eu-west-1"))
    assert isinstance(chosen, rerank.BedrockReranker)
    assert chosen.model_arn == "arn:aws:bedrock:eu-west-1::foundation-model/amazon.rerank-v1:0"


def test_the_rerankers_relevance_is_blended_into_the_best_candidates_scores(api, ns, env):
    seed(api, ns)
    req = QueryRequest(namespace=ns, query="Tell me about Lisbon", top_k=3)
    fused = search.query(req)
    assert len(fused.results) >= 2
    first, second = fused.results[0], fused.results[1]
    reranker, stub = stubbed()
    # The model finds the fused second best the only relevant one.
    stub.add_response(
        "rerank",
        {"results": [{"index": 1, "relevanceScore": 0.98}, {"index": 0, "relevanceScore": 0.02}]},
        {
            "queries": [{"type": "TEXT", "textQuery": {"text": "Tell me about Lisbon"}}],
            "sources": ANY,
            "rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "numberOfResults": ANY,
                    "modelConfiguration": {
                        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.rerank-v1:0"
                    },
                },
            },
        },
    )
    with stub:
        reranked = search.query(req, reranker=reranker)
    stub.assert_no_pending_responses()
    top = reranked.results[0]
    assert top.memory_id == second.memory_id and top.components["rerank"] == 0.98
    assert top.score == round(0.5 * second.score + 0.5 * 0.98, 4)  # the default weight, 0.5
    demoted = next(r for r in reranked.results if r.memory_id == first.memory_id)
    assert demoted.components["rerank"] == 0.02 and demoted.score < first.score
    assert "rerank" in reranked.timings_ms


def test_a_failing_reranker_leaves_the_fused_ranking(api, ns, env):
    seed(api, ns)
    req = QueryRequest(namespace=ns, query="Tell me about Lisbon", top_k=3)
    fused = search.query(req)
    reranker, stub = stubbed()
    stub.add_client_error("rerank", service_error_code="ThrottlingException", http_status_code=429)
    with stub:
        resp = search.query(req, reranker=reranker)
    assert [r.memory_id for r in resp.results] == [r.memory_id for r in fused.results]
    assert [r.score for r in resp.results] == [r.score for r in fused.results]
    assert all("rerank" not in r.components for r in resp.results)


class PoolWatchingReranker:
    """Scores the texts in reverse order of arrival (the last sent gets 0.9, each earlier one 0.1
    less) and notes, while "the remote call" runs, how many pooled connections are checked out."""

    name = "watching"

    def __init__(self) -> None:
        self.in_use: list[int] = []
        self.sent = 0

    def relevance(self, query: str, texts: Sequence[str]) -> list[float]:
        stats = db.get_pool().get_stats()
        self.in_use.append(stats["pool_size"] - stats["pool_available"])
        self.sent = len(texts)
        return [round(0.9 - 0.1 * i, 4) for i in range(len(texts))][::-1]


def test_the_rerankers_call_holds_no_pooled_connection_and_the_answer_is_still_written(api, ns, env):
    seed(api, ns)
    req = QueryRequest(namespace=ns, query="Tell me about Lisbon", top_k=3)
    fused = search.query(req)
    watcher = PoolWatchingReranker()
    resp = search.query(req, reranker=watcher)
    assert watcher.in_use == [0]  # nothing checked out while the reranker runs (no other request here)
    assert watcher.sent >= 2
    # The fused best was sent first, so it got the lowest relevance.
    best = next(r for r in resp.results if r.memory_id == fused.results[0].memory_id)
    assert best.components["rerank"] == round(0.9 - 0.1 * (watcher.sent - 1), 4)
    with db.connection() as conn:  # the pack of the reranked answer was written once
        stored = conn.execute(
            "SELECT count(*) AS n FROM context_packs WHERE query_id = %s", (resp.query_id,)
        ).fetchone()
    assert stored["n"] == 1
