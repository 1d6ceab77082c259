"""The ops console in a real browser: `memos dev` serves console/ and the /v1 API; Chromium drives it.

The stack runs as a child process (as a user runs it), seeded over HTTP; Playwright for Python
drives Debian's Chromium (never a downloaded browser). Each test saves a screenshot of its view to
``MEMOS_SCREENSHOT_DIR`` (``make screenshots`` points it at docs/screenshots; otherwise a temporary
folder, so a test run rewrites no tracked file). Missing Chromium or Playwright is a failure with the fix in the message.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local import demo
from infra.local.client import MemosClient
from infra.local.services import free_port
from tests.e2e.test_local_stack import KEY, start_dev, stop_dev

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("MEMOS_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="memos-shots-"))
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000

NS = f"console-{uuid.uuid4().hex[:8]}"
TRIP = [
    "We fly to Tokyo on April 4th and land at Haneda.",
    "I am vegetarian and severely allergic to peanuts.",
    "We decided to stay near Gion in Kyoto for the temples.",
    "I prefer window seats on long flights.",
]
WORK = [
    "The launch review with Priya is on Monday at 10am.",
    "We decided to use idempotency keys on every payment charge.",
    "The database cutover deadline is May 15th.",
]
CHATTER = [
    "Remember to water the basil on the balcony.",
    "The dentist appointment moved to Thursday afternoon.",
    "My bike needs a new rear tire before the race.",
    "Grandma's birthday dinner is at the Lebanese place.",
    "The library book about volcanoes is due next week.",
    "Our wifi password changed after the router upgrade.",
    "The cat only eats the salmon flavoured food now.",
    "Saturday's hike starts at the north trailhead parking.",
]


@pytest.fixture(scope="module")
def stack(services: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`memos dev` with a seeded namespace: two sessions, a condensation, queries, a burst of events."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_dev(tmp_path_factory.mktemp("console") / "data", services["redis_url"], port)
    try:
        seeded = _seed(url)
    except Exception:
        out = stop_dev(proc) if proc.poll() is None else (proc.stdout.read() if proc.stdout else "")
        raise AssertionError("seeding the console stack failed; memos dev said:\n" + out) from None
    try:
        yield seeded
    finally:
        stop_dev(proc)


# One GET per handler function, to import them one at a time before the browser's parallel requests.
WARM_UP = ("/v1/health", "/v1/memories?namespace=w", "/v1/policy?namespace=w", "/v1/ops/stats", "/v1/keys")


def _warm_up(client: MemosClient) -> None:
    """Work around a start-up race (reported to the lead): the condensation worker thread imports
    Powertools while the first HTTP requests import their handlers, and a concurrent first import
    can fail with "partially initialized module". A failed import is retried by the next request."""
    for path in WARM_UP:
        for attempt in range(5):
            try:
                if client.request("GET", path).status < 500:
                    break
            except OSError:
                pass
            time.sleep(0.2 * (attempt + 1))
        else:
            raise AssertionError(f"GET {path} kept failing")
    client.request("POST", "/v1/query", {"namespace": "w", "query": "warm up"}).ok()


def _seed(url: str) -> dict[str, Any]:
    client = MemosClient(url, KEY)
    _warm_up(client)
    demo.seed(client)  # `memos demo`'s conversation: what the decay and embedding map views show
    # A low condensation threshold so the pipeline has a structured summary to show.
    ok = client.request("PUT", "/v1/policy", {"namespace": NS, "settings": {"condense_after_turns": 3}}).ok()
    assert ok["policy"]["condense_after_turns"] == 3
    for session, texts in (("trip", TRIP), ("work", WORK)):
        items = [{"session_id": session, "role": "user", "text": t} for t in texts]
        body = client.ingest({"namespace": NS, "items": items}).ok()
        assert [m["status"] for m in body["memories"]] == ["created"] * len(texts)
    for text in CHATTER:  # one request each: one ingest audit event each
        client.ingest({"namespace": NS, "session_id": "chatter", "role": "user", "text": text}).ok()
    for q in ("when do we land at Haneda?", "what food allergies should restaurants know about?"):
        assert client.query({"namespace": NS, "query": q}).ok()["results"]
    deadline = time.monotonic() + 60
    done: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = client.request("GET", f"/v1/ops/condensations?namespace={NS}").ok()["condensations"]
        done = [c for c in rows if c["status"] == "done"]
        if {c["session_id"] for c in done} >= {"trip", "work"}:
            break
        time.sleep(0.3)
    assert {c["session_id"] for c in done} >= {"trip", "work"}, f"no condensations appeared: {done}"
    reader = client.request(
        "POST",
        "/v1/keys",
        {"name": "console-reader", "scopes": ["memory:read", "ops:read"], "namespaces": [NS]},
    ).ok()
    return {"url": url, "client": client, "condensations": done, "reader_key": reader["key"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright for Python is not installed: pip install 'playwright==1.65.2' "
            "(do NOT run `playwright install`; these tests use Debian's Chromium)",
            pytrace=False,
        )
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, stack: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    pg.on("console", lambda msg: errors.append(f"console.error: {msg.text}") if msg.type == "error" else None)
    pg.goto(stack["url"] + "/")
    yield pg
    context.close()
    # Expected 4xx answers log a "Failed to load resource" line; anything else is a console bug.
    real = [e for e in errors if "Failed to load resource" not in e]
    assert not real, real


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def sign_in(pg: Any, key: str = KEY, namespace: str = NS) -> None:
    pg.get_by_test_id("signin-key").fill(key)
    pg.get_by_test_id("signin-submit").click()
    expect(pg.locator("body")).to_have_attribute("data-ready", "true")  # the pickers are filled
    picker = pg.get_by_test_id("namespace-picker")
    if picker.input_value() != namespace:
        picker.fill(namespace)
        picker.press("Enter")
    expect(pg.get_by_test_id("view").locator(".view-head").first).to_contain_text(namespace)
    expect(pg.get_by_test_id("view")).to_have_attribute("data-view", "overview")


def go(pg: Any, view: str) -> None:
    pg.get_by_test_id(f"nav-{view}").click()
    expect(pg.get_by_test_id(f"view-{view}")).to_be_visible()


def audit_loaded(pg: Any) -> None:
    expect(pg.get_by_test_id("audit-table")).to_have_attribute("data-state", "ready")


def shot(pg: Any, view: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    pg.screenshot(path=str(SHOTS / f"{view}.png"), full_page=full_page)


@pytest.mark.e2e
def test_sign_in_shows_api_errors_and_keeps_the_key_in_the_tab(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    expect(pg.get_by_test_id("api-health")).to_contain_text("API ok")
    # A wrong key: the API's 401 in the SPEC shape, as a readable message; nothing stored.
    pg.get_by_test_id("signin-key").fill("memos_not_a_real_key_000000000")
    pg.get_by_test_id("signin-submit").click()
    expect(pg.get_by_test_id("signin-error")).to_contain_text("401 unauthorized")
    assert pg.evaluate("sessionStorage.getItem('memos.apiKey')") is None
    # An unreachable base URL says so (and hints at CORS for a hosted console).
    pg.get_by_test_id("signin-base").fill("http://127.0.0.1:9")
    pg.get_by_test_id("signin-key").fill(KEY)
    pg.get_by_test_id("signin-submit").click()
    expect(pg.get_by_test_id("signin-error")).to_contain_text("network_error")
    expect(pg.get_by_test_id("signin-error")).to_contain_text("CORS")
    # Back to the same origin: signed in; the key lives in sessionStorage only.
    pg.get_by_test_id("signin-base").fill("")
    sign_in(pg)
    assert pg.evaluate("sessionStorage.getItem('memos.apiKey')") == KEY
    assert pg.evaluate("localStorage.getItem('memos.apiKey')") is None
    expect(pg.get_by_test_id("role-badge")).to_have_text("admin")
    # The namespace picker offers namespaces found in the ops endpoints; sessions come from memories.
    assert NS in pg.eval_on_selector_all("#ns-options option", "els => els.map(e => e.value)")
    sessions = pg.eval_on_selector_all("#session-options option", "els => els.map(e => e.value)")
    assert sorted(sessions) == ["chatter", "trip", "work"]
    # A reload keeps the session (same tab); signing out forgets the key.
    pg.reload()
    expect(pg.get_by_test_id("stat-total-memories")).to_be_visible()
    pg.get_by_test_id("signout").click()
    expect(pg.get_by_test_id("signin")).to_be_visible()
    assert pg.evaluate("sessionStorage.getItem('memos.apiKey')") is None


@pytest.mark.e2e
def test_overview_shows_the_seeded_counts_health_and_throughput(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    client = stack["client"]
    listed = client.request("GET", f"/v1/memories?namespace={NS}&limit=200").ok()["memories"]
    stats = client.request("GET", f"/v1/ops/stats?namespace={NS}").ok()
    assert len(listed) == stats["memories"]["total"] >= len(TRIP) + len(WORK) + len(CHATTER)
    expect(pg.get_by_test_id("overview-scope")).to_contain_text(NS)
    expect(pg.get_by_test_id("stat-total-memories").locator("strong")).to_have_text(str(len(listed)))
    expect(pg.get_by_test_id("kind-episodic")).to_contain_text(str(stats["memories"]["by_kind"]["episodic"]))
    expect(pg.get_by_test_id("stat-active-contexts").locator("strong")).to_have_text(
        str(stats["active_contexts"])
    )
    for layer in ("L1", "L2", "L3"):
        expect(pg.get_by_test_id(f"health-{layer}")).to_contain_text("ok")
        expect(pg.get_by_test_id(f"health-{layer}")).to_contain_text(" ms")
    # Token savings: the context packs row shows the queries' figures from the API.
    packs = stats["tokens"]["context_packs"]
    row = pg.get_by_test_id("tokens-context-packs")
    expect(row).to_contain_text(f"{packs['tokens_in']:,}")
    expect(row).to_contain_text(f"{packs['tokens_out']:,}")
    assert packs["count"] >= 2
    cond = stats["tokens"]["condensations"]
    expect(pg.get_by_test_id("tokens-condensations")).to_contain_text(f"{cond['saved']:,}")
    # Throughput: one bar per minute, and the hour's totals match the seed.
    chart = pg.get_by_test_id("throughput-chart")
    expect(chart.locator("rect.bar-ingested")).to_have_count(60)
    ingested = sum(p["ingested"] for p in stats["throughput"])
    assert ingested >= len(TRIP) + len(WORK) + len(CHATTER)
    expect(pg.get_by_test_id("throughput-totals")).to_contain_text(f"ingested {ingested}")
    shot(pg, "overview")


@pytest.mark.e2e
def test_pipeline_shows_queue_and_structured_condensation_cards(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    go(pg, "pipeline")
    for testid in ("queue-depth", "queue-in-flight", "queue-dead-lettered", "pending-sessions"):
        expect(pg.get_by_test_id(testid).locator("strong")).to_have_text("0")
    cards = pg.get_by_test_id("condensation-card")
    expect(cards.first).to_be_visible()
    seeded = next(c for c in stack["condensations"] if c["session_id"] == "trip")
    trip = pg.locator(f'[data-testid="condensation-card"][data-id="{seeded["id"]}"]')
    expect(trip).to_contain_text(f"{NS} / trip")
    expect(trip.get_by_test_id("condensation-status")).to_have_text("done")
    saved = seeded["tokens_before"] - seeded["tokens_after"]
    expect(trip.get_by_test_id("condensation-tokens")).to_contain_text(
        f"{seeded['tokens_before']} → {seeded['tokens_after']} tokens (saved {saved}"
    )
    # The structured card: every non-empty category of the stored summary, with the seeded text.
    summary = seeded["summary"]
    categories = ("facts", "decisions", "preferences", "constraints", "pitfalls", "open_tasks", "entities")
    non_empty = [k for k in categories if summary.get(k)]
    assert non_empty, summary
    for key in non_empty:
        block = trip.get_by_test_id(f"summary-{key}")
        expect(block).to_be_visible()
        expect(block.locator("li")).to_have_count(len(summary[key]))
        expect(block.locator("li").first).to_contain_text(summary[key][0]["text"])
    # The seed's own sentences are what the card lists.
    assert any(item["text"] in TRIP for k in non_empty for item in summary[k]), summary
    # Auto-refresh: the "updated" stamp changes without any click.
    stamp = pg.get_by_test_id("pipeline-updated").inner_text()
    expect(pg.get_by_test_id("pipeline-updated")).not_to_have_text(stamp, timeout=8_000)
    expect(pg.get_by_test_id("no-decay-runs")).to_be_visible()
    shot(pg, "pipeline")


@pytest.mark.e2e
def test_radar_plots_kept_candidates_by_layer_and_lists_filtered_ones(
    page: Any, stack: dict[str, Any]
) -> None:
    pg = page
    sign_in(pg)
    go(pg, "radar")
    question = "which food allergies and diet should restaurants know about?"
    pg.get_by_test_id("radar-query").fill(question)
    pg.get_by_test_id("radar-topk").fill("5")
    pg.get_by_test_id("radar-run").click()
    expect(pg.get_by_test_id("radar-chart")).to_be_visible()
    api = (
        stack["client"].query({"namespace": NS, "query": question, "top_k": 5, "include_filtered": True}).ok()
    )
    points = pg.get_by_test_id("radar-point")
    expect(points).to_have_count(len(api["results"]))
    first = api["results"][0]
    assert first["text"] in TRIP + WORK + CHATTER
    point = pg.locator(f'[data-testid="radar-point"][data-memory-id="{first["memory_id"]}"]')
    expect(point).to_have_class(f"point layer-{first['layer'].lower()}")
    expect(point.locator("title")).to_contain_text(first["text"])
    expect(point.locator("title")).to_contain_text("kept: rank 1")
    kept = pg.get_by_test_id("radar-kept-item")
    expect(kept.first).to_contain_text(first["text"])
    expect(kept).to_have_count(len(api["results"]))
    # Filtered candidates (ids and reasons only) are listed with their reason.
    assert api["filtered"], "the seed has more memories than top_k"
    filtered = pg.get_by_test_id("radar-filtered-item")
    expect(filtered).to_have_count(len(api["filtered"]))
    reasons = {f["reason"] for f in api["filtered"]}
    for reason in reasons:
        expect(pg.get_by_test_id("radar-filtered")).to_contain_text(reason)
    expect(pg.get_by_test_id("radar-summary")).to_contain_text(f"{len(api['filtered'])} filtered")
    # The x axis can switch to the lexical component without another query.
    pg.get_by_test_id("radar-x").select_option("lexical")
    expect(pg.get_by_test_id("radar-chart")).to_contain_text("lexical component")
    shot(pg, "radar")


@pytest.mark.e2e
def test_inspector_queries_answers_and_ingests(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    go(pg, "inspector")
    pg.get_by_test_id("ask-query").fill("when do we land at Haneda?")
    pg.get_by_test_id("ask-query-submit").click()
    results = pg.get_by_test_id("result-item")
    expect(results.first.get_by_test_id("result-text")).to_have_text(TRIP[0])
    expect(results.first).to_contain_text("vector")
    expect(results.first).to_contain_text("lexical")
    expect(pg.get_by_test_id("context-pack-text")).to_contain_text(TRIP[0])
    pack_text = pg.get_by_test_id("context-pack-text").inner_text()
    # The token figures are the query's own token_usage: the stored pack says the same.
    latest = stack["client"].request("GET", f"/v1/ops/context_packs?namespace={NS}&limit=1&include_pack=true")
    row = latest.ok()["context_packs"][0]
    assert row["query"] == "when do we land at Haneda?" and row["pack"]["text"] == pack_text
    expect(pg.get_by_test_id("usage-candidates").locator("strong")).to_have_text(
        f"{row['candidate_tokens']:,}"
    )
    expect(pg.get_by_test_id("usage-packed").locator("strong")).to_have_text(f"{row['packed_tokens']:,}")
    saved = row["candidate_tokens"] - row["packed_tokens"]
    expect(pg.get_by_test_id("usage-saved").locator("strong")).to_have_text(f"{saved:,}")

    # Answer: the extractive answer and its citations, labelled with the memory's text.
    pg.get_by_test_id("ask-answer-submit").click()
    expect(pg.get_by_test_id("answer-text")).to_contain_text("Haneda")
    expect(pg.get_by_test_id("citation").first).to_contain_text(TRIP[0])
    # It came over /v1/answer/stream, piece by piece, and says the same as /v1/answer.
    expect(pg.get_by_test_id("answer-stream-state")).to_contain_text("streamed in")
    same = stack["client"].request(
        "POST", "/v1/answer", {"namespace": NS, "question": "when do we land at Haneda?"}
    )
    expect(pg.get_by_test_id("answer-text")).to_have_text(same.ok()["answer"])

    # Ingest from the inspector, then the new memory comes back from a query.
    new_text = "The ryokan in Hakone confirmed our booking for April 9th."
    pg.get_by_test_id("ingest-session").fill("trip")
    pg.get_by_test_id("ingest-text").fill(new_text)
    pg.get_by_test_id("ingest-submit").click()
    expect(pg.get_by_test_id("ingest-status")).to_contain_text("created")
    pg.get_by_test_id("ask-query").fill("which ryokan in Hakone did we book?")
    pg.get_by_test_id("ask-query-submit").click()
    expect(results.first.get_by_test_id("result-text")).to_have_text(new_text)
    expect(pg.get_by_test_id("context-pack-text")).to_contain_text(new_text)
    listed = stack["client"].request("GET", f"/v1/memories?namespace={NS}&session_id=trip").ok()["memories"]
    assert new_text in [m["text"] for m in listed]

    # Bad input: the API's 422 shows as a readable message, and nothing is stored.
    pg.get_by_test_id("ingest-session").fill("not a valid session!")
    pg.get_by_test_id("ingest-text").fill("this must not be stored")
    pg.get_by_test_id("ingest-submit").click()
    expect(pg.get_by_test_id("ingest-error")).to_contain_text("422 validation_error")
    expect(pg.get_by_test_id("ingest-error")).to_contain_text("session_id")
    after = stack["client"].request("GET", f"/v1/memories?namespace={NS}&limit=200").ok()["memories"]
    assert "this must not be stored" not in [m["text"] for m in after]
    pg.get_by_test_id("ask-query").fill("when do we land at Haneda?")
    pg.get_by_test_id("ask-query-submit").click()
    expect(results.first.get_by_test_id("result-text")).to_have_text(TRIP[0])
    shot(pg, "inspector")


@pytest.mark.e2e
def test_audit_lists_ingests_filters_by_action_and_pages(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    go(pg, "audit")
    rows = pg.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    expect(pg.get_by_test_id("audit-namespace")).to_have_value(NS)
    expect(rows.filter(has_text="ingest").first).to_be_visible()
    # Filter by action: only ingest events, one per ingest request of the seed (at least).
    audit_loaded(pg)
    pg.get_by_test_id("audit-action").select_option("ingest")
    audit_loaded(pg)
    actions = pg.eval_on_selector_all('[data-testid="audit-row"]', "els => els.map(e => e.dataset.action)")
    assert set(actions) == {"ingest"} and len(actions) >= 2 + len(CHATTER)
    api = stack["client"].request("GET", f"/v1/ops/audit?namespace={NS}&action=ingest&limit=500").ok()
    assert len(actions) == len(api["events"])
    # Cursor paging: 10 per page, "load more" until the end.
    pg.get_by_test_id("audit-limit").select_option("10")
    audit_loaded(pg)
    expect(rows).to_have_count(10)
    pg.get_by_test_id("audit-more").click()
    audit_loaded(pg)
    expect(rows).to_have_count(min(20, len(api["events"])))
    while pg.get_by_test_id("audit-more").is_visible():
        pg.get_by_test_id("audit-more").click()
        audit_loaded(pg)
    expect(rows).to_have_count(len(api["events"]))
    expect(pg.get_by_test_id("audit-count")).to_contain_text("end of log")
    # The search box narrows the loaded events to one session's.
    pg.get_by_test_id("audit-search").fill("chatter")
    visible = pg.locator('[data-testid="audit-row"]:visible')
    expect(visible).to_have_count(len(CHATTER))
    pg.get_by_test_id("audit-search").fill("")
    # Another action: the policy change of the seed, with its before/after.
    pg.get_by_test_id("audit-action").select_option("policy_change")
    audit_loaded(pg)
    expect(rows.first).to_contain_text("condense_after_turns")
    actions = pg.eval_on_selector_all('[data-testid="audit-row"]', "els => els.map(e => e.dataset.action)")
    assert actions and set(actions) == {"policy_change"}
    # A session filter goes to the API.
    pg.get_by_test_id("audit-action").select_option("")
    audit_loaded(pg)
    pg.get_by_test_id("audit-session").fill("work")
    pg.get_by_test_id("audit-apply").click()
    audit_loaded(pg)
    sessions = pg.eval_on_selector_all(
        '[data-testid="audit-row"] td:nth-child(4)', "els => els.map(e => e.textContent)"
    )
    assert sessions and set(sessions) == {"work"}
    # since after until: the API's 422 shown as a readable message.
    pg.get_by_test_id("audit-since").fill("2030-01-02T00:00:00")
    pg.get_by_test_id("audit-until").fill("2030-01-01T00:00:00")
    pg.get_by_test_id("audit-apply").click()
    expect(pg.get_by_test_id("error")).to_contain_text("422 validation_error")
    pg.get_by_test_id("audit-since").fill("")
    pg.get_by_test_id("audit-until").fill("")
    pg.get_by_test_id("audit-session").fill("")
    pg.get_by_test_id("audit-limit").select_option("50")
    audit_loaded(pg)
    expect(rows.first).to_be_visible()
    shot(pg, "audit")


@pytest.mark.e2e
def test_policy_view_edit_for_admins_with_field_errors(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    go(pg, "policy")
    field = pg.get_by_test_id("policy-field-condense_after_turns")
    expect(field).to_contain_text("overridden")
    before = stack["client"].request("GET", f"/v1/policy?namespace={NS}").ok()
    turns = pg.get_by_test_id("policy-input-condense_after_turns")
    expect(turns).to_have_value("3")
    lexical = before["policy"]["weights"]["lexical"]
    expect(pg.get_by_test_id("policy-input-weights.lexical")).to_have_value(str(lexical))
    # An invalid value: the API's 422 detail is shown next to its field; nothing changes.
    turns.fill("1")
    pg.get_by_test_id("policy-input-weights.vector").fill("9")
    pg.get_by_test_id("policy-save").click()
    expect(pg.get_by_test_id("policy-save-error")).to_contain_text("422 validation_error")
    expect(pg.get_by_test_id("policy-error-condense_after_turns")).to_contain_text(
        "greater than or equal to 2"
    )
    expect(pg.get_by_test_id("policy-error-weights.vector")).to_contain_text("less than or equal to 5")
    assert stack["client"].request("GET", f"/v1/policy?namespace={NS}").ok()["version"] == before["version"]
    # A valid change is saved (only the changed keys), and the view shows the new version.
    turns.fill("40")
    pg.get_by_test_id("policy-input-weights.vector").fill(str(before["policy"]["weights"]["vector"]))
    pg.get_by_test_id("policy-save").click()
    expect(pg.get_by_test_id("policy-status")).to_contain_text("saved: condense_after_turns")
    expect(pg.get_by_test_id("policy-version")).to_contain_text(f"version {before['version'] + 1}")
    after = stack["client"].request("GET", f"/v1/policy?namespace={NS}").ok()
    assert after["policy"]["condense_after_turns"] == 40 and after["version"] == before["version"] + 1
    assert after["policy"]["weights"] == before["policy"]["weights"]
    shot(pg, "policy")


@pytest.mark.e2e
def test_a_read_only_key_sees_policy_but_cannot_edit(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg, key=stack["reader_key"])
    expect(pg.get_by_test_id("role-badge")).to_have_text("read-only")
    # Its grant is one namespace: the overview counts it.
    expect(pg.get_by_test_id("overview-scope")).to_contain_text(NS)
    expect(pg.get_by_test_id("stat-total-memories").locator("strong")).not_to_have_text("0")
    go(pg, "policy")
    expect(pg.get_by_test_id("policy-input-condense_after_turns")).to_be_disabled()
    expect(pg.get_by_test_id("policy-save")).to_have_count(0)
    # A namespace outside its grant: the API's 403, readable.
    picker = pg.get_by_test_id("namespace-picker")
    picker.fill("someone-else")
    picker.press("Enter")
    expect(pg.get_by_test_id("error")).to_contain_text("403 forbidden")


# --------------------------------------------------------------------------- memory maps (demo)


def _fmt(n: float, digits: int) -> str:
    return f"{n:.{digits}f}"


@pytest.mark.e2e
def test_decay_heatmap_shows_the_demo_as_the_api_lays_it_out(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    client = stack["client"]
    sign_in(pg)
    pg.get_by_test_id("namespace-picker").fill(demo.NAMESPACE)
    pg.get_by_test_id("namespace-picker").press("Enter")
    go(pg, "decay")
    expect(pg.get_by_test_id("view-decay")).to_have_attribute("data-state", "ready")
    api_map = client.request("GET", "/v1/ops/decay?" + urlencode({"namespace": demo.NAMESPACE})).ok()
    assert api_map["live"] >= 20 and api_map["cells"]
    expect(pg.get_by_test_id("decay-live").locator("strong")).to_have_text(f"{api_map['live']:,}")
    expect(pg.get_by_test_id("decay-deleted").locator("strong")).to_have_text(
        str(api_map["forgotten"]["deleted"])
    )
    expect(pg.get_by_test_id("decay-policy")).to_contain_text(
        f"half-life {api_map['policy']['half_life_days']:g} d"
    )
    cells = pg.get_by_test_id("decay-cell")
    expect(cells).to_have_count(len(api_map["cells"]))
    shown = {
        (int(c["age"]), int(c["importance"])): (int(c["count"]), c["state"])
        for c in cells.evaluate_all(
            "els => els.map(e => ({age: e.dataset.age, importance: e.dataset.importance, count: e.dataset.count, state: e.dataset.state}))"
        )
    }
    assert shown == {
        (c["age_bucket"], c["importance_bucket"]): (c["count"], c["state"]) for c in api_map["cells"]
    }
    assert sum(n for n, _ in shown.values()) == api_map["scanned"]

    # Keyboard: focus the busiest cell and press Enter; its memories list, focus moves to them.
    busiest = max(api_map["cells"], key=lambda c: c["count"])
    button = pg.locator(
        f"[data-testid=decay-cell][data-age='{busiest['age_bucket']}'][data-importance='{busiest['importance_bucket']}']"
    )
    expect(button).to_have_attribute("aria-label", re.compile(rf"^{busiest['count']} memor"))
    button.focus()
    pg.keyboard.press("Enter")
    expect(pg.get_by_test_id("decay-cell-heading")).to_be_focused()
    rows = pg.get_by_test_id("decay-memory")
    expect(rows).to_have_count(min(25, busiest["count"]))
    listed = client.request(
        "GET",
        "/v1/ops/decay/memories?"
        + urlencode(
            {
                "namespace": demo.NAMESPACE,
                "age_bucket": busiest["age_bucket"],
                "importance_bucket": busiest["importance_bucket"],
                "limit": 25,
            }
        ),
    ).ok()["memories"]
    assert rows.evaluate_all("els => els.map(e => e.dataset.memoryId)") == [m["memory_id"] for m in listed]
    expect(rows.first.get_by_test_id("decay-why")).to_have_text(listed[0]["why"])
    expect(rows.first.get_by_test_id("decay-importance")).to_contain_text(_fmt(listed[0]["importance"], 3))
    shot(pg, "decay", full_page=True)


def _all_points(client: MemosClient) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"namespace": demo.NAMESPACE, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = client.request("GET", "/v1/ops/embedding_map?" + urlencode(params)).ok()
        points += body["points"]
        cursor = body["next_cursor"]
        if not cursor:
            return points


@pytest.mark.e2e
def test_embedding_map_plots_the_demo_with_links_and_a_query_among_its_candidates(
    page: Any, stack: dict[str, Any]
) -> None:
    pg = page
    client = stack["client"]
    sign_in(pg)
    pg.get_by_test_id("namespace-picker").fill(demo.NAMESPACE)
    pg.get_by_test_id("namespace-picker").press("Enter")
    go(pg, "embedding")
    expect(pg.get_by_test_id("view-embedding")).to_have_attribute("data-state", "ready")
    points = _all_points(client)
    by_id = {p["memory_id"]: p for p in points}
    expect(pg.get_by_test_id("map-point")).to_have_count(len(points))
    drawn = pg.get_by_test_id("map-point").evaluate_all(
        "els => els.map(e => [e.dataset.memoryId, e.dataset.status, e.dataset.layer])"
    )
    assert sorted(drawn) == sorted([p["memory_id"], p["status"], p["layer"]] for p in points)
    # The demo's near-duplicate and changed fact are drawn linked to what they point to.
    links = pg.get_by_test_id("map-link").evaluate_all("els => els.map(e => [e.dataset.from, e.dataset.to])")
    expected_links = sorted(
        [p["memory_id"], p["duplicate_of"] or p["superseded_by"]]
        for p in points
        if (p["duplicate_of"] or p["superseded_by"]) in by_id
    )
    assert sorted(links) == expected_links
    assert {by_id[a]["status"] for a, _ in links} == {"duplicate", "superseded"}
    expect(pg.get_by_test_id("map-row")).to_have_count(len(points))  # the table view of the same points

    question = demo.QUERIES[0]["query"]
    pg.get_by_test_id("map-query-input").fill(question)
    pg.get_by_test_id("map-query-input").press("Enter")
    expect(pg.get_by_test_id("map-query")).to_have_count(1)
    overlay = client.request(
        "POST", "/v1/ops/embedding_map/query", {"namespace": demo.NAMESPACE, "query": question}
    ).ok()
    assert overlay["kept"]
    kept = pg.get_by_test_id("map-kept-item").evaluate_all("els => els.map(e => e.dataset.memoryId)")
    assert kept == [k["memory_id"] for k in overlay["kept"]]
    filtered = pg.get_by_test_id("map-filtered-item").evaluate_all("els => els.map(e => e.dataset.memoryId)")
    assert sorted(filtered) == sorted(f["memory_id"] for f in overlay["filtered"])
    expect(pg.get_by_test_id("map-kept-item").first).to_contain_text("vegetarian")
    shot(pg, "embedding", full_page=True)


VIEW_NAMES = ["overview", "pipeline", "radar", "decay", "embedding", "inspector", "audit", "policy"]

NAMELESS = """root => [...root.querySelectorAll('input, select, textarea, button, summary, a[href]')]
  .filter(e => e.offsetParent !== null)
  .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('title')
                 || (e.textContent || '').trim()))
  .map(e => e.outerHTML.slice(0, 120))"""


@pytest.mark.e2e
def test_every_view_labels_its_controls_and_tab_reaches_them(page: Any, stack: dict[str, Any]) -> None:
    pg = page
    sign_in(pg)
    pg.get_by_test_id("namespace-picker").fill(demo.NAMESPACE)
    pg.get_by_test_id("namespace-picker").press("Enter")
    for view in VIEW_NAMES:
        go(pg, view)
        expect(pg.locator(f"#nav a[data-view={view}]")).to_have_attribute("aria-current", "page")
        expect(pg.get_by_test_id(f"view-{view}").locator("h1")).to_be_visible()
        pg.wait_for_load_state("networkidle")
        assert pg.locator("body").evaluate(NAMELESS) == [], f"{view}: controls without a label"
        # Tab from the view's heading: the first few controls of the view take focus in turn.
        controls = pg.get_by_test_id(f"view-{view}").evaluate(
            """root => [...root.querySelectorAll('input, select, textarea, button, summary, a[href]')]
                 .filter(e => e.offsetParent !== null && !e.disabled).slice(0, 5)
                 .map(e => { e.dataset.focusProbe = Math.random().toString(36).slice(2); return e.dataset.focusProbe; })"""
        )
        pg.get_by_test_id(f"view-{view}").locator("h1").evaluate("h => { h.tabIndex = -1; h.focus(); }")
        reached = []
        for _ in range(len(controls) + 10):
            pg.keyboard.press("Tab")
            probe = pg.evaluate("document.activeElement && document.activeElement.dataset.focusProbe")
            if probe and probe not in reached:
                reached.append(probe)
            if len(reached) == len(controls):
                break
        assert reached == controls, f"{view}: Tab reached {len(reached)} of {len(controls)} controls in order"
