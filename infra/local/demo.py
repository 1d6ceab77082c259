"""``memos demo``: seed a multi-session conversation over HTTP and show ranked, explained retrieval."""

from __future__ import annotations

from typing import Any

from infra.local.client import MemosClient

NAMESPACE = "demo:maya"

SESSIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "trip-planning",
        "2026-03-02T09:00:00Z",
        [
            ("user", "Hi! I'm Maya. I'm planning a two-week trip to Japan in April with my partner Leo."),
            ("assistant", "Lovely! Cherry blossom season. Which cities are you considering?"),
            ("user", "Tokyo first, then Kyoto and Osaka. We land at Haneda on April 4th."),
            ("user", "Important: I'm vegetarian and severely allergic to peanuts, so restaurants matter."),
            (
                "assistant",
                "Noted: vegetarian, peanut allergy. Shojin ryori temples in Kyoto are a great fit.",
            ),
            ("user", "Our budget is about 6,000 dollars including flights."),
            ("user", "Leo loves photography, so a sunrise at Fushimi Inari is a must."),
            ("assistant", "I'd suggest staying near Gion in Kyoto for early access to Fushimi Inari."),
            ("user", "ok thanks"),
        ],
    ),
    (
        "work-migration",
        "2026-03-10T14:30:00Z",
        [
            (
                "user",
                "Switching topics: at work I'm leading the migration of our payments service to PostgreSQL.",
            ),
            ("user", "The cutover deadline is May 15th and the freeze starts May 1st."),
            ("assistant", "What are the main risks you see for the cutover?"),
            (
                "user",
                "Double-charging during the dual-write phase. We decided to use idempotency keys on every charge.",
            ),
            ("user", "My manager Priya wants a rollback plan reviewed by April 20th."),
            (
                "assistant",
                "A rollback plan should cover replaying the write-ahead log and reconciling ledgers.",
            ),
            ("tool", "jira: PAY-482 'dual-write reconciliation job' status=In Progress assignee=maya"),
        ],
    ),
    (
        "weekend-chat",
        "2026-03-21T19:05:00Z",
        [
            ("user", "I started learning Japanese on Duolingo, 30 minutes every morning."),
            ("user", "Also, I prefer window seats on long flights and I never check luggage."),
            ("assistant", "Carry-on only suits a two-week trip if you plan laundry stops in Kyoto."),
            (
                "user",
                "Leo's birthday is April 12th, I want to book a special vegetarian kaiseki dinner in Kyoto.",
            ),
        ],
    ),
]

QUERIES: list[dict[str, Any]] = [
    {"query": "What food restrictions should restaurant suggestions respect?"},
    {"query": "When is the payments cutover deadline?"},
    {"query": "What should I plan for Leo's birthday?", "session_id": "weekend-chat"},
]


def seed(client: MemosClient) -> int:
    from datetime import datetime, timedelta

    # A low threshold so the demo shows a condensation: every 5 turns of a session, one job.
    client.request(
        "PUT", "/v1/policy", {"namespace": NAMESPACE, "settings": {"condense_after_turns": 5}}
    ).ok()
    items = []
    for session_id, start, turns in SESSIONS:
        t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
        for i, (role, text) in enumerate(turns):
            items.append(
                {
                    "session_id": session_id,
                    "role": role,
                    "text": text,
                    "occurred_at": (t0 + timedelta(minutes=2 * i)).isoformat(),
                }
            )
    resp = client.ingest({"namespace": NAMESPACE, "items": items}).ok()
    again = client.ingest({"namespace": NAMESPACE, **items[3]}).ok()
    print(
        f"ingested {resp['accepted']} turns in {len(SESSIONS)} sessions into namespace {NAMESPACE!r};"
        f" re-sending one turn reports: {again['memories'][0]['status']}"
    )
    # Governance keeps both of these, linked: a near-duplicate turn points to its original, and a
    # changed fact supersedes the old one (the console's embedding map draws both links).
    near = {**items[6], "text": items[6]["text"].rstrip(".") + "!"}
    changed = {
        "session_id": "weekend-chat",
        "role": "user",
        "text": "Our budget is now 7,500 dollars.",
        "occurred_at": "2026-03-21T19:30:00+00:00",
    }
    for label, item in (("a near-duplicate turn", near), ("a changed fact", changed)):
        m = client.ingest({"namespace": NAMESPACE, **item}).ok()["memories"][0]
        print(f"  {label} reports: {m['status']}")
    return int(resp["accepted"])


def show(client: MemosClient, top_k: int = 3) -> None:
    for q in QUERIES:
        body = {"namespace": NAMESPACE, "top_k": top_k, "token_budget": 300, **q}
        r = client.query(body).ok()
        scope = f" (session {q['session_id']})" if "session_id" in q else ""
        print(f"\nQ: {q['query']}{scope}")
        for rank, res in enumerate(r["results"], 1):
            comps = " ".join(f"{k}={v:.2f}" for k, v in res["components"].items() if v)
            print(f"  {rank}. [{res['score']:.3f} {res['layer']}] {res['role']}: {res['text'][:90]}")
            print(f"       {comps}")
        u = r["token_usage"]
        print(
            f"  context pack: {u['packed']} tokens of {u['candidates']} candidate tokens"
            f" (saved {u['ratio']:.0%}); {r['timings_ms']['total']:.1f} ms"
        )


def show_governance(client: MemosClient, wait_s: float = 15.0) -> None:
    """The condensation worker picks the jobs from the queue; show what it wrote and what it saved."""
    import time

    deadline = time.monotonic() + wait_s
    done: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = client.request("GET", f"/v1/ops/condensations?namespace={NAMESPACE}").ok()
        done = [c for c in page["condensations"] if c["status"] == "done"]
        if len({c["session_id"] for c in done}) >= sum(1 for _, _, turns in SESSIONS if len(turns) >= 5):
            break
        time.sleep(0.5)
    print(f"\ncondensations (SQS → condense handler): {len(done)} done")
    for c in done[:2]:
        print(
            f"  {c['session_id']} turns {c['from_turn']}-{c['to_turn']}: {c['tokens_before']} → {c['tokens_after']}"
            " tokens"
        )
        for line in (c["summary_text"] or "").splitlines()[:4]:
            print(f"     {line}")
    tokens = client.request("GET", f"/v1/ops/stats?namespace={NAMESPACE}").ok()["tokens"]
    for source in ("context_packs", "condensations"):
        t = tokens[source]
        ratio = f"{t['savings_ratio']:.0%}" if t["savings_ratio"] is not None else "n/a"
        print(
            f"  ops/stats {source}: {t['count']} × {t['tokens_in']} → {t['tokens_out']} tokens (saved {ratio})"
        )


def run_demo(base_url: str, api_key: str) -> None:
    client = MemosClient(base_url, api_key)
    seed(client)
    show(client)
    show_governance(client)
