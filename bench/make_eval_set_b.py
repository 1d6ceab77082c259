"""Generate synthetic set B: a different generator and seed from ``make_eval_set.py``, held out.

    python bench/make_eval_set_b.py [--seed 20261202] [--out bench/data/synthetic_eval_b.json]

Never used to choose weights, thresholds or calibration (those come from set A only): it is
the check that an improvement is general. Shape: one user talking with an assistant over many
dated sessions (set A is a group chat of three friends), first-person facts about the user and
the people in their life, assistant replies as filler, facts that change (a move, a new job, a new
favourite), and distractors about other people.

Question categories:
``single-hop``       one turn, wording close to it
``paraphrase``       one turn, no content word shared with it
``knowledge-update`` a fact stated, later replaced; evidence is the newest value only
``temporal``         "When did I ...?", "What did I do on <date>?" (evidence: the dated turn)
``multi-session``    the answer needs two turns from different sessions
``history``          every value a changed fact has had ("Which cities have I lived in?")
``multi-evidence``   two or three turns from different sessions in one question: a fact about
                     someone plus the user's changed city, three current facts at once, two
                     people's facts (fixed wordings, no random draw: the rest of the set is as it was)
``negative``         about something never said (no evidence): a system should return nothing
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "data" / "synthetic_eval_b.json"
N_CONVERSATIONS = 8
SESSIONS = 10
FILLER_PER_SESSION = 14

CITIES = [
    "Porto",
    "Krakow",
    "Valencia",
    "Tallinn",
    "Leipzig",
    "Bergen",
    "Ghent",
    "Turin",
    "Bilbao",
    "Graz",
    "Utrecht",
    "Lyon",
]
JOBS = [
    "pharmacist",
    "carpenter",
    "data analyst",
    "paramedic",
    "librarian",
    "architect",
    "sous chef",
    "physiotherapist",
]
EMPLOYERS = [
    "Nordwind Logistics",
    "Bluefin Studios",
    "Marlow Bank",
    "Cedar Health",
    "Quarry Labs",
    "Orbit Foods",
]
PETS = [
    ("dog", "puppy", "four-legged friend that barks"),
    ("cat", "kitten", "animal that purrs"),
    ("rabbit", "bunny", "long-eared companion"),
]
PET_NAMES = ["Biscuit", "Mochi", "Pepper", "Juniper", "Waffles", "Ziggy", "Olive", "Sprocket"]
FOODS = ["pho", "tiramisu", "falafel", "ramen", "paella", "dumplings", "risotto", "tacos"]
RELATIVES = ["sister", "brother", "cousin", "aunt"]
PEOPLE = ["Maya", "Theo", "Ines", "Rafael", "Greta", "Kofi", "Lior", "Priya", "Sven", "Amara", "Jun", "Odile"]
ACTIVITIES = [
    ("went to the dentist", "dentist"),
    ("ran a 10k race", "race"),
    ("visited the science museum", "museum"),
    ("repainted the kitchen", "kitchen"),
    ("went to a pottery workshop", "pottery"),
    ("had a job interview", "interview"),
    ("saw a jazz concert", "concert"),
    ("planted tomatoes in the garden", "tomatoes"),
]
USER_FILLER = [
    "Can you remind me what we talked about?",
    "Thanks, that helps a lot.",
    "Hmm, let me think about it.",
    "That makes sense.",
    "I'm a bit tired today.",
    "What a week it has been.",
    "Okay, next question.",
    "I will check later.",
    "Good point.",
    "Not sure yet, honestly.",
]
ASSISTANT_FILLER = [
    "That sounds great! Tell me more.",
    "Happy to help with that.",
    "Sure, here is a quick summary of the options.",
    "I understand. Let me know if you want ideas.",
    "Got it, noted.",
    "Interesting! How did that feel?",
    "Here are a few suggestions you could try.",
]
NEGATIVE = [
    "What is the name of my horse?",
    "Which university did my grandfather teach at?",
    "How many goals did I score in the hockey final?",
    "What colour is my motorbike?",
    "When did I climb Mount Kilimanjaro?",
    "What is my parrot called?",
]


def fmt(d: datetime) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def build(rng: random.Random, index: int) -> dict[str, Any]:
    cid = f"b{index:02d}"
    start = datetime(2024, 1, 8, 18, tzinfo=UTC) + timedelta(days=rng.randint(0, 60))
    days = sorted(rng.sample(range(0, 200), SESSIONS))
    sessions: list[list[dict[str, Any]]] = [[] for _ in range(SESSIONS)]
    planted: dict[str, tuple[int, str]] = {}  # key -> (session, text)
    questions: list[dict[str, Any]] = []

    city1, city2 = rng.sample(CITIES, 2)
    job1, job2 = rng.sample(JOBS, 2)
    employer = rng.choice(EMPLOYERS)
    _pet, pet_syn, pet_para = rng.choice(PETS)
    pet_name, pet2_name = rng.sample(PET_NAMES, 2)
    food1, food2 = rng.sample(FOODS, 2)
    rel = rng.choice(RELATIVES)
    rel_name, friend, other = rng.sample(PEOPLE, 3)
    rel_city = rng.choice([c for c in CITIES if c not in (city1, city2)])
    acts = rng.sample(ACTIVITIES, 3)

    def put(key: str, session: int, text: str) -> None:
        planted[key] = (session, text)
        sessions[session].append({"key": key, "role": "user", "text": text})

    put("city1", 0, f"I live in {city1}.")
    put("job1", 0, f"I work as a {job1}.")
    put("pet", 1, f"We adopted a {pet_syn} last weekend, we named it {pet_name}.")
    put("food1", 1, f"My favorite food is {food1}.")
    put("rel", 2, f"My {rel} {rel_name} lives in {rel_city}.")
    put("employer", 2, f"I started at {employer} this month.")
    put("friend", 3, f"My best friend {friend} is teaching me to play the cello.")
    put("pet2", 4, f"We got a second pet, a little one called {pet2_name}.")
    put("city2", 5, f"Actually I live in {city2} now, the move went fine.")
    put("food2", 6, f"My favorite food is {food2} these days.")
    put("job2", 7, f"I work as a {job2} now, I switched careers.")
    put("distractor_city", 3, f"My colleague {other} lives in {rng.choice(CITIES)}.")
    put("distractor_pet", 6, f"{other} has a {rng.choice(PETS)[0]} too.")
    act_sessions = rng.sample(range(1, SESSIONS), 3)
    for i, ((act, _word), s) in enumerate(zip(acts, act_sessions, strict=True)):
        put(f"act{i}", s, f"Today I {act}.")

    for s in range(SESSIONS):
        for _ in range(FILLER_PER_SESSION // 2):
            sessions[s].append({"key": None, "role": "user", "text": rng.choice(USER_FILLER)})
            sessions[s].append({"key": None, "role": "assistant", "text": rng.choice(ASSISTANT_FILLER)})
        rng.shuffle(sessions[s])

    out_sessions = []
    turn_id: dict[str, str] = {}
    date_of: dict[str, datetime] = {}
    for s, turns in enumerate(sessions):
        t0 = start + timedelta(days=days[s])
        rows = []
        for n, t in enumerate(turns, 1):
            tid = f"{cid}-s{s + 1}-t{n:02d}"
            at = t0 + timedelta(minutes=2 * n)
            rows.append({"id": tid, "role": t["role"], "text": t["text"], "occurred_at": at.isoformat()})
            if t["key"]:
                turn_id[t["key"]] = tid
                date_of[t["key"]] = at
        out_sessions.append({"session_id": f"{cid}-s{s + 1}", "turns": rows})

    def q(cat: str, text: str, answer: str, keys: list[str]) -> None:
        questions.append(
            {
                "id": f"{cid}-q{len(questions) + 1:03d}",
                "question": text,
                "answer": answer,
                "evidence": [turn_id[k] for k in keys],
                "category": cat,
            }
        )

    q("single-hop", f"What did I name the {pet_syn} we adopted?", pet_name, ["pet"])
    q("single-hop", f"Where does my {rel} {rel_name} live?", rel_city, ["rel"])
    q("single-hop", f"What is {friend} teaching me?", "the cello", ["friend"])
    q("single-hop", "Which company did I start at?", employer, ["employer"])
    q("paraphrase", f"What is the name of the {pet_para} in our home?", pet_name, ["pet"])
    q("paraphrase", f"Which instrument lessons does {friend} give me?", "cello", ["friend"])
    q("paraphrase", "Who employs me since this year?", employer, ["employer"])
    q("knowledge-update", "Where do I live?", city2, ["city2"])
    q("knowledge-update", "What is my job?", job2, ["job2"])
    q("knowledge-update", "What is my favorite food?", food2, ["food2"])
    for i, (act, _word) in enumerate(acts):
        q("temporal", f"When did I {_base(act)}?", fmt(date_of[f"act{i}"]), [f"act{i}"])
        q("temporal", f"What did I do on {fmt(date_of[f'act{i}'])}?", act, [f"act{i}"])
    q("multi-session", "What are the names of our two pets?", f"{pet_name} and {pet2_name}", ["pet", "pet2"])
    q(
        "multi-session",
        f"What are the names of my {rel} and my best friend?",
        f"{rel_name} and {friend}",
        ["rel", "friend"],
    )
    q(
        "multi-session",
        "Which company do I work for, and what is my job?",
        f"{employer}, {job2}",
        ["employer", "job2"],
    )
    q("history", "Which cities have I lived in?", f"{city1} and {city2}", ["city1", "city2"])
    q("history", "What jobs have I had before and now?", f"{job1} and {job2}", ["job1", "job2"])
    for text in rng.sample(NEGATIVE, 3):
        questions.append(
            {
                "id": f"{cid}-q{len(questions) + 1:03d}",
                "question": text,
                "answer": "",
                "evidence": [],
                "category": "negative",
            }
        )
    # after the negatives: the ids of the questions above stay what they were
    q(
        "multi-evidence",
        f"Where does my {rel} live, and which city do I live in now?",
        f"{rel_city}; {city2}",
        ["rel", "city2"],
    )
    q(
        "multi-evidence",
        "What is my current job, where do I live now, and what is my favorite food these days?",
        f"{job2}; {city2}; {food2}",
        ["job2", "city2", "food2"],
    )
    q(
        "multi-evidence",
        f"Who is teaching me the cello, and what did we name the {pet_syn} we adopted?",
        f"{friend}; {pet_name}",
        ["friend", "pet"],
    )
    return {
        "id": cid,
        "namespace": cid,
        "today": (start + timedelta(days=days[-1] + 1)).isoformat(),
        "sessions": out_sessions,
        "questions": questions,
    }


def _base(act: str) -> str:
    """'went to the dentist' -> 'go to the dentist' (the question's tense)."""
    irregular = {"went": "go", "ran": "run", "had": "have", "saw": "see"}
    verb, _, rest = act.partition(" ")
    verb = irregular.get(
        verb,
        verb[:-1] if verb.endswith("ed") and verb[-3] == "e" else verb[:-2] if verb.endswith("ed") else verb,
    )
    return f"{verb} {rest}"


def make_dataset(seed: int = 20261202, n: int = N_CONVERSATIONS) -> dict[str, Any]:
    rng = random.Random(seed)
    return {
        "name": f"synthetic-b-seed{seed}",
        "description": "held-out set B (bench/make_eval_set_b.py): one user and an assistant, changing facts,"
        " multi-session and unanswerable questions",
        "conversations": [build(rng, i + 1) for i in range(n)],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    data = make_dataset(args.seed)
    Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
    cats: dict[str, int] = {}
    for c in data["conversations"]:
        for q in c["questions"]:
            cats[q["category"]] = cats.get(q["category"], 0) + 1
    print(f"wrote {args.out}: {len(data['conversations'])} conversations, {cats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
