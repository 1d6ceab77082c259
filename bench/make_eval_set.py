"""Generate the synthetic retrieval eval set (native format, see docs/EVALUATION.md).

    python bench/make_eval_set.py [--seed 7] [--out bench/data/synthetic_eval.json]

Deterministic for a seed. Group chats of three friends over several sessions, built from templates
over varied vocabularies: facts about each speaker (job, pet, hobby, favourite food, home city),
relatives and employers for two-hop questions, dated activities for temporal questions, and
distractors: chit-chat, reactions that repeat names, the same kinds of facts about other people,
near-misses ("I almost adopted a ferret") and wishes ("I'd love to run a half marathon someday").

Question categories: ``single-hop`` (wording close to the evidence), ``paraphrase`` (no content word
shared with the evidence except the person's name; checked here), ``multi-hop`` (two evidence turns
by different speakers), ``temporal`` ("when did ...", "what did X do in May 2023", "last week"
relative to the conversation's ``today``, which the question also states), ``multi-evidence``
(two or three evidence turns from different sessions: a conjunctive question about two or three of
a speaker's facts, and a three-step chain "where does the relative of the friend who works as a
nurse live"). The multi-evidence questions are worded from fixed templates and draw nothing from
the seed's random stream, so adding them left every other turn and question as it was.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memos.kernel.text import content_terms

OUT = Path(__file__).resolve().parent / "data" / "synthetic_eval.json"
N_CONVERSATIONS = 10
SESSIONS = 8
TURNS_PER_SESSION = 28

NAMES = [
    "Ana",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Elif",
    "Farah",
    "Gustavo",
    "Hana",
    "Ibrahim",
    "Jonas",
    "Keiko",
    "Luca",
    "Maren",
    "Nikhil",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Samir",
    "Tamsin",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amara",
    "Bastian",
    "Carmen",
    "Dario",
    "Esme",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jasper",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Rafael",
    "Sanne",
    "Tobias",
    "Ugo",
    "Valentina",
    "Wiktor",
    "Yara",
    "Zaid",
    "Aiko",
    "Benedikt",
    "Celeste",
    "Devi",
    "Emil",
    "Fiona",
    "Goran",
    "Helga",
    "Isak",
    "Juno",
]
CITIES = [
    "Lisbon",
    "Tallinn",
    "Montreal",
    "Valencia",
    "Porto",
    "Krakow",
    "Edinburgh",
    "Ljubljana",
    "Seville",
    "Bergen",
    "Lyon",
    "Graz",
    "Utrecht",
    "Turin",
    "Gothenburg",
    "Bologna",
    "Ghent",
    "Aarhus",
    "Brno",
    "Cork",
    "Nantes",
    "Malmo",
    "Zagreb",
    "Leipzig",
    "Tampere",
    "Split",
    "Basel",
    "Bilbao",
    "Trieste",
    "Galway",
]
ORGS_LIST = [
    "Northwind Logistics",
    "Harborview Hospital",
    "Cedar Lane Bakery",
    "Bluefin Analytics",
    "Greenway Transit",
    "Maple Street Library",
    "Summit Engineering",
    "Lakeshore Museum",
    "Brightpath Academy",
    "Copperleaf Studios",
    "Redwood Pharmacy",
    "Silverline Airways",
    "Oakridge Veterinary Clinic",
    "Pinecrest Architects",
    "Starling Media",
    "Ironbridge Construction",
    "Willow Dental",
    "Quarry Hill Brewery",
    "Tidewater Labs",
    "Juniper Insurance",
    "Falcon Courier",
    "Meadowbrook Farms",
    "Lantern Theatre",
    "Crescent Robotics",
    "Hollow Oak Furniture",
    "Bramble Bookshop",
    "Northstar Energy",
    "Riverbend School",
    "Saffron Kitchen",
    "Glacier Outfitters",
]
JOBS_LIST = [
    "pediatric nurse",
    "structural engineer",
    "chemistry teacher",
    "paramedic",
    "data analyst",
    "pastry chef",
    "landscape architect",
    "veterinary technician",
    "court interpreter",
    "air traffic controller",
    "museum curator",
    "physical therapist",
    "sound engineer",
    "tax accountant",
    "marine biologist",
    "carpenter",
    "pharmacist",
    "urban planner",
    "librarian",
    "firefighter",
    "dental hygienist",
    "wedding photographer",
    "bus driver",
    "journalist",
    "florist",
    "electrician",
    "flight attendant",
    "speech therapist",
]
# species -> words a paraphrase may use instead of the species
PETS = {
    "dog": "four-legged companion",
    "cat": "whiskered companion",
    "parrot": "feathered companion",
    "rabbit": "long-eared companion",
    "hamster": "tiny furry companion",
    "tortoise": "shelled companion",
    "goldfish": "aquarium companion",
    "ferret": "mischievous little companion",
    "gecko": "scaly companion",
    "guinea pig": "squeaky companion",
}
PET_NAMES = [
    "Biscuit",
    "Pepper",
    "Mochi",
    "Waffles",
    "Juniper",
    "Noodle",
    "Pickle",
    "Ziggy",
    "Clover",
    "Tofu",
    "Pretzel",
    "Olive",
    "Basil",
    "Nugget",
    "Maple",
    "Sprout",
    "Pixel",
    "Bean",
    "Marble",
    "Cosmo",
    "Fig",
    "Toast",
    "Gizmo",
    "Hazel",
    "Domino",
]
# hobby -> a description with none of the hobby's words
HOBBIES = {
    "rock climbing": "scaling indoor walls with ropes and harnesses",
    "pottery": "shaping clay on a spinning wheel",
    "salsa dancing": "Latin partner moves on Friday nights",
    "birdwatching": "spotting warblers through binoculars",
    "woodworking": "building furniture by hand",
    "chess": "a board game of kings and pawns",
    "surfing": "riding waves on a board",
    "knitting": "turning yarn into scarves",
    "watercolor painting": "art with brushes and pigments",
    "sourdough baking": "making loaves from a wild starter",
    "archery": "shooting arrows at targets",
    "kayaking": "paddling down rivers",
    "beekeeping": "tending hives for honey",
    "fencing": "dueling with foils",
    "calligraphy": "elegant lettering with ink pens",
    "bouldering": "short climbs without ropes",
    "trail running": "jogging on forest paths",
}
# food -> description
FOODS = {
    "ramen": "Japanese noodle soup",
    "paella": "Spanish saffron rice",
    "tacos al pastor": "Mexican street food",
    "pho": "Vietnamese broth with rice noodles",
    "lasagna": "layered Italian pasta bake",
    "falafel": "fried chickpea balls",
    "pierogi": "Polish dumplings",
    "butter chicken": "creamy Indian curry",
    "sushi": "raw fish on vinegared rice",
    "shakshuka": "eggs poached in tomato sauce",
    "moussaka": "Greek eggplant casserole",
    "bibimbap": "Korean mixed rice bowl",
    "empanadas": "stuffed baked pastries",
    "goulash": "Hungarian paprika stew",
    "dim sum": "Cantonese small plates",
}
RELATIVES = ["cousin", "sibling", "godchild", "childhood friend", "old college roommate", "stepsibling"]
# (past tense, base form) of dated activities
EVENTS = [
    ("ran a half marathon", "run a half marathon"),
    ("went to a jazz concert", "go to a jazz concert"),
    ("volunteered at the food bank", "volunteer at the food bank"),
    ("took a pottery workshop", "take a pottery workshop"),
    ("got a tattoo", "get a tattoo"),
    ("gave a talk at a conference", "give a talk at a conference"),
    ("passed the driving test", "pass the driving test"),
    ("performed at an open mic night", "perform at an open mic night"),
    ("went scuba diving", "go scuba diving"),
    ("organized a bake sale", "organize a bake sale"),
    ("painted the living room", "paint the living room"),
    ("went camping by the lake", "go camping by the lake"),
    ("competed in a chess tournament", "compete in a chess tournament"),
    ("planted a vegetable garden", "plant a vegetable garden"),
    ("took a sushi cooking class", "take a sushi cooking class"),
    ("watched a meteor shower", "watch a meteor shower"),
    ("sang in a choir concert", "sing in a choir concert"),
    ("went to a comic convention", "go to a comic convention"),
    ("built a treehouse", "build a treehouse"),
    ("finished a 1000-piece puzzle", "finish a 1000-piece puzzle"),
    ("donated blood", "donate blood"),
    ("went hot air ballooning", "go hot air ballooning"),
    ("adopted a beehive", "adopt a beehive"),
    ("climbed a via ferrata", "climb a via ferrata"),
    ("hosted a board game night", "host a board game night"),
    ("visited a lavender farm", "visit a lavender farm"),
    ("rode a tandem bike across town", "ride a tandem bike across town"),
    ("repaired an old motorcycle", "repair an old motorcycle"),
    ("went ice skating", "go ice skating"),
    ("attended a cousin's wedding", "attend a cousin's wedding"),
]

CHITCHAT = [
    "How is everyone doing this week?",
    "Haha, same here.",
    "I'm so tired today, work was a lot.",
    "Did anyone see the game last night?",
    "The weather has been so weird lately.",
    "I need more coffee.",
    "Lol, that's hilarious.",
    "Anyone up for brunch soon?",
    "I can't believe it's already Thursday.",
    "My phone is dying, brb.",
    "That reminds me, I still owe you a coffee.",
    "Ugh, traffic was terrible this morning.",
    "Good morning everyone!",
    "Let's catch up properly soon.",
    "I've been binge-watching a baking show.",
    "Has anyone tried that new cafe downtown?",
    "I'm finally on vacation next month.",
    "Sorry, I was in meetings all day.",
    "Totally agree.",
    "Same, honestly.",
    "That sounds exhausting.",
    "Fingers crossed!",
    "I'm rewatching an old sitcom again.",
    "My plants are not doing great.",
    "What's everyone doing this weekend?",
    "I slept ten hours last night, no regrets.",
    "It rained all day here.",
    "Honestly, I just want a nap.",
    "Good night, talk tomorrow!",
    "We should plan a trip together sometime.",
]
REACTIONS = [
    "Congrats, {p}! That's huge.",
    "Wow {p}, I love that for you.",
    "Haha {p}, that's so you.",
    "No way, {p}! Tell us more next time.",
    "That's amazing, {p}.",
    "Oh nice, {p}, good for you!",
    "{p}, you never stop surprising me.",
    "So happy for you {p}!",
]

JOB_STATEMENTS = [
    ("I just signed the contract: I'm the new {job} at {org}!", "What job did {p} sign a contract for?"),
    (
        "Big news from me, starting Monday I'll be working as a {job} for {org}.",
        "What will {p} be working as?",
    ),
    ("{org} hired me as a {job}, I still can't believe it.", "What was {p} hired as?"),
]
JOB_PARAPHRASES = [
    "What is {p}'s current occupation?",
    "How does {p} earn a living these days?",
    "What profession did {p} recently take up?",
]
PET_STATEMENTS = [
    (
        "We adopted a {species} from the shelter and named it {pet}.",
        "What did {p} name the adopted {species}?",
    ),
    ("Meet {pet}, my new {species}! Already chewing everything.", "What is the name of {p}'s new {species}?"),
    (
        "I brought home a little {species} yesterday, {pet} is settling in fine.",
        "What is the {species} {p} brought home called?",
    ),
]
PET_PARAPHRASES = [
    "What did {p} call the {para} that joined the household?",
    "Who is the {para} living with {p} now?",
]
HOBBY_STATEMENTS = [
    (
        "I've been obsessed with {hobby} lately, I go three times a week.",
        "What has {p} been obsessed with lately?",
    ),
    ("Signed up for a {hobby} class, the first lesson was amazing.", "What class did {p} sign up for?"),
    (
        "Spent the whole weekend doing {hobby} again, my arms are sore.",
        "What did {p} spend the weekend doing?",
    ),
]
HOBBY_PARAPHRASES = ["Which pastime involving {para} did {p} pick up?", "What free-time pursuit is {p} into?"]
FOOD_STATEMENTS = [
    ("Nothing beats {food}, honestly my favourite thing to eat.", "What is {p}'s favourite thing to eat?"),
    ("I could eat {food} every single day.", "What could {p} eat every single day?"),
    ("Made {food} again tonight, it's my comfort food.", "What is {p}'s comfort food?"),
]
FOOD_PARAPHRASES = ["Which {para} does {p} crave most?", "What dish would {p} order for a celebration meal?"]
CITY_STATEMENTS = [
    ("We finally moved into our new apartment in {city}!", "Which city did {p} move to?"),
    ("Unpacking the last boxes in {city}, the new place is lovely.", "Where is {p}'s new place?"),
    (
        "Officially a resident of {city} now, the move went smoothly.",
        "Where is {p} officially a resident now?",
    ),
]
CITY_PARAPHRASES = ["Where does {p} live these days?", "In what town did {p} relocate?"]
RELATIVE_A = [
    "My {rel} {q} is visiting soon, you'll love them.",
    "Had dinner with my {rel} {q} yesterday.",
    "My {rel} {q} called me for two hours last night.",
]
RELATIVE_B = [
    "Ran into {q} at the station, they said they just settled in {city}.",
    "Guess who I saw: {q}! They moved to {city} last month.",
    "{q} sent me photos from {city}, they live there now.",
]
RELATIVE_Q = ["Which city does {p}'s {rel} live in now?", "Where did {p}'s {rel} move to?"]
ORG_B = [
    "Fun fact: {org} has its headquarters in {city}, my cousin works there too.",
    "I read that {org} is based in {city}.",
    "{org}? Their main office is in {city}, I delivered there once.",
]
# multi-evidence: fixed wordings (no random draw), one set per speaker index
MULTI_EVIDENCE_Q = [
    (
        "What does {p} work as, and what is the name of {p}'s {species}?",
        "{job}; {pet}",
        ["job", "pet"],
    ),
    (
        "Which city does {p} live in, what food does {p} love, and which hobby did {p} take up?",
        "{city}; {food}; {hobby}",
        ["city", "food", "hobby"],
    ),
    (
        "Our friend who became a {job}: where does their {rel} live now?",
        "{rcity}",
        ["job", "rel-a", "rel-b"],
    ),
]
ORG_Q = ["In which city is the headquarters of the company {p} works for?", "Where is {p}'s employer based?"]
EVENT_STATEMENTS = ["Today I {past}!", "Just got home: I {past} this morning.", "Guess what, I {past} today."]
WISHES = [
    "I'd love to {base} someday.",
    "I keep saying I'll {base} one day.",
    "Never have I ever had the chance to {base}.",
]
# distractors about people who are not speakers: same shapes, other entities
OTHER_JOB = ["My coworker {x} just became a {job} at {org}.", "{x} from my gym works as a {job} now."]
OTHER_PET = [
    "My neighbour {x} adopted a {species} named {pet}.",
    "{x} keeps sending me pictures of {pet}, their {species}.",
]
OTHER_HOBBY = ["{x} dragged me to a {hobby} session, not my thing.", "My friend {x} is really into {hobby}."]
OTHER_FOOD = ["{x} says {food} is the best food on earth.", "We had {food} at {x}'s place."]
OTHER_CITY = ["{x} from work is moving to {city}.", "My old roommate {x} lives in {city} now."]
NEAR_MISS = [
    "I almost adopted a {species}, but my landlord said no.",
    "I thought about becoming a {job} once.",
    "I tried {hobby} once and hated it.",
    "I'm not a big fan of {food}, to be honest.",
    "We looked at apartments in {city} but they were too expensive.",
]


def fmt_day(d: datetime) -> str:
    return f"{d.day} {d:%B %Y}"


@dataclass
class Planned:
    speaker: str
    text: str
    kind: str  # fact | event | filler
    key: str | None = None  # handle for evidence lookup
    session: int = 0


@dataclass
class ConvBuilder:
    rng: random.Random
    cid: str
    speakers: list[str]
    others: list[str]
    sessions: list[list[Planned]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _overlap(a: str, b: str, ignore: set[str]) -> set[str]:
    return (set(content_terms(a)) & set(content_terms(b))) - ignore


def build_conversation(rng: random.Random, index: int, name_pool: list[str]) -> dict[str, Any]:
    cid = f"conv{index + 1:02d}"
    people = rng.sample(name_pool, 3 + 3 + 6)
    speakers, relatives, others = people[:3], people[3:6], people[6:]
    cities = rng.sample(CITIES, 12)
    orgs = rng.sample(ORGS_LIST, 6)
    jobs = rng.sample(JOBS_LIST, 6)
    species = rng.sample(list(PETS), 6)
    pet_names = rng.sample(PET_NAMES, 6)
    hobbies = rng.sample(list(HOBBIES), 6)
    foods = rng.sample(list(FOODS), 6)
    events = rng.sample(EVENTS, len(EVENTS))
    rels = [rng.choice(RELATIVES) for _ in speakers]

    start = datetime(2023, rng.randint(1, 3), rng.randint(1, 20), tzinfo=UTC)
    dates = []
    d = start
    for _ in range(SESSIONS):
        dates.append(d.replace(hour=rng.randint(8, 21), minute=rng.randint(0, 59)))
        d += timedelta(days=rng.randint(10, 26))
    today = (dates[-1] + timedelta(days=4)).replace(hour=12, minute=0)

    plan: list[list[Planned]] = [[] for _ in range(SESSIONS)]
    questions: list[tuple[str, str, str, list[str]]] = []  # (category, question, answer, evidence keys)
    multi_evidence: list[tuple[str, str, str, list[str]]] = []  # appended last: ids of the rest stay
    ignore_terms = set()
    for p in people:
        ignore_terms.update(content_terms(p))

    def place(item: Planned, session: int) -> None:
        item.session = session
        plan[session].append(item)

    def fact(
        i: int,
        kind: str,
        statements: list[tuple[str, str]],
        paraphrases: list[str],
        values: dict[str, str],
        answer: str,
        session: int,
    ) -> str:
        p = speakers[i]
        stmt, direct = rng.choice(statements)
        text = stmt.format(**values)
        key = f"{kind}:{p}"
        place(Planned(p, text, "fact", key), session)
        questions.append(("single-hop", direct.format(p=p, **values), answer, [key]))
        ok = [q.format(p=p, **values) for q in paraphrases]
        ok = [q for q in ok if not _overlap(q, text, ignore_terms)]
        if ok:
            questions.append(("paraphrase", rng.choice(ok), answer, [key]))
        return text

    for i, p in enumerate(speakers):
        sess = rng.sample(range(SESSIONS - 1), 5)
        org, city = orgs[i], cities[i]
        fact(i, "job", JOB_STATEMENTS, JOB_PARAPHRASES, {"job": jobs[i], "org": org}, jobs[i], sess[0])
        sp = species[i]
        fact(
            i,
            "pet",
            PET_STATEMENTS,
            PET_PARAPHRASES,
            {"species": sp, "pet": pet_names[i], "para": PETS[sp]},
            pet_names[i],
            sess[1],
        )
        hb = hobbies[i]
        fact(i, "hobby", HOBBY_STATEMENTS, HOBBY_PARAPHRASES, {"hobby": hb, "para": HOBBIES[hb]}, hb, sess[2])
        fd = foods[i]
        fact(i, "food", FOOD_STATEMENTS, FOOD_PARAPHRASES, {"food": fd, "para": FOODS[fd]}, fd, sess[3])
        fact(i, "city", CITY_STATEMENTS, CITY_PARAPHRASES, {"city": city}, city, sess[4])

        # multi-hop 1: a relative named by p, where they live told by someone else, later
        other = speakers[(i + 1) % 3]
        q, rel, rcity = relatives[i], rels[i], cities[3 + i]
        a_sess = rng.randrange(SESSIONS - 1)
        b_sess = rng.randrange(a_sess + 1, SESSIONS)
        place(Planned(p, rng.choice(RELATIVE_A).format(rel=rel, q=q), "fact", f"rel-a:{p}"), a_sess)
        place(Planned(other, rng.choice(RELATIVE_B).format(q=q, city=rcity), "fact", f"rel-b:{p}"), b_sess)
        questions.append(
            ("multi-hop", rng.choice(RELATIVE_Q).format(p=p, rel=rel), rcity, [f"rel-a:{p}", f"rel-b:{p}"])
        )
        # multi-hop 2: p's employer (the job fact) + where that employer is based, told by someone else
        hq = cities[6 + i]
        place(
            Planned(speakers[(i + 2) % 3], rng.choice(ORG_B).format(org=org, city=hq), "fact", f"org:{p}"),
            rng.randrange(SESSIONS),
        )
        questions.append(("multi-hop", rng.choice(ORG_Q).format(p=p), hq, [f"job:{p}", f"org:{p}"]))
        values = {
            "p": p,
            "job": jobs[i],
            "species": species[i],
            "pet": pet_names[i],
            "city": city,
            "food": foods[i],
            "hobby": hobbies[i],
            "rel": rel,
            "rcity": rcity,
        }
        multi_evidence += [
            ("multi-evidence", tq.format(**values), ta.format(**values), [f"{k}:{p}" for k in keys])
            for tq, ta, keys in MULTI_EVIDENCE_Q
        ]

    # dated activities: each speaker does one in ~60% of sessions, and always in the last one
    ev_iter = iter(events)
    done: dict[str, list[tuple[int, str, str]]] = {p: [] for p in speakers}
    for s in range(SESSIONS):
        for p in speakers:
            if s == SESSIONS - 1 or rng.random() < 0.6:
                try:
                    past, base = next(ev_iter)
                except StopIteration:
                    continue
                key = f"event:{p}:{base}"
                place(Planned(p, rng.choice(EVENT_STATEMENTS).format(past=past), "event", key), s)
                done[p].append((s, past, base))
    leftover = list(ev_iter)
    for p in speakers:
        for s, _past, base in rng.sample(done[p], min(3, len(done[p]))):
            questions.append(("temporal", f"When did {p} {base}?", fmt_day(dates[s]), [f"event:{p}:{base}"]))
        by_month: dict[tuple[int, int], list[tuple[int, str, str]]] = {}
        for s, past, base in done[p]:
            by_month.setdefault((dates[s].year, dates[s].month), []).append((s, past, base))
        single = [v[0] for v in by_month.values() if len(v) == 1]
        for s, past, base in rng.sample(single, min(2, len(single))):
            questions.append(
                ("temporal", f"What did {p} do in {dates[s]:%B %Y}?", past, [f"event:{p}:{base}"])
            )
        last = [e for e in done[p] if e[0] == SESSIONS - 1 and (today - dates[e[0]]).days < 7]
        earlier_in_week = [e for e in done[p] if (today - dates[e[0]]).days < 7]
        if len(last) == 1 and len(earlier_in_week) == 1:
            s, past, base = last[0]
            questions.append(
                (
                    "temporal",
                    f"Today is {fmt_day(today)}. What did {p} do last week?",
                    past,
                    [f"event:{p}:{base}"],
                )
            )

    # distractors
    for s in range(SESSIONS):
        wishes = [(b, None) for _, b in leftover] + [(b, p) for p in speakers for _, _, b in done[p]]
        for _ in range(3):
            x, spk = rng.choice(others), rng.choice(speakers)
            j = rng.randrange(3, 6)
            tmpl = rng.choice([*OTHER_JOB, *OTHER_PET, *OTHER_HOBBY, *OTHER_FOOD, *OTHER_CITY])
            place(
                Planned(
                    spk,
                    tmpl.format(
                        x=x,
                        job=jobs[j],
                        org=orgs[j],
                        species=species[j],
                        pet=pet_names[j],
                        hobby=hobbies[j],
                        food=foods[j],
                        city=cities[9 + j - 3],
                    ),
                    "filler",
                ),
                s,
            )
        spk = rng.choice(speakers)
        j = rng.randrange(3, 6)
        place(
            Planned(
                spk,
                rng.choice(NEAR_MISS).format(
                    species=species[j], job=jobs[j], hobby=hobbies[j], food=foods[j], city=cities[9 + j - 3]
                ),
                "filler",
            ),
            s,
        )
        base, doer = rng.choice(wishes)  # someone else wishes for what a speaker did: a near-miss
        place(
            Planned(
                rng.choice([x for x in speakers if x != doer]), rng.choice(WISHES).format(base=base), "filler"
            ),
            s,
        )

    # order within sessions, reactions after facts and events, chit-chat up to the target size
    sessions_out = []
    keyed: dict[str, str] = {}
    for s in range(SESSIONS):
        items = plan[s]
        rng.shuffle(items)
        turns: list[Planned] = []
        for it in items:
            turns.append(it)
            if it.kind in ("fact", "event") and rng.random() < 0.7:
                who = rng.choice([x for x in speakers if x != it.speaker])
                turns.append(Planned(who, rng.choice(REACTIONS).format(p=it.speaker), "filler"))
        chat = rng.sample(CHITCHAT, len(CHITCHAT))  # no line twice in a session
        while len(turns) < TURNS_PER_SESSION:
            pos = rng.randrange(len(turns) + 1)
            turns.insert(pos, Planned(rng.choice(speakers), chat.pop(), "filler"))
        sid = f"{cid}-s{s + 1}"
        t = dates[s]
        out_turns = []
        for n, it in enumerate(turns, 1):
            tid = f"{sid}-t{n:02d}"
            if it.key:
                keyed[it.key] = tid
            out_turns.append(
                {
                    "id": tid,
                    "speaker": it.speaker,
                    "role": "user",
                    "text": it.text,
                    "occurred_at": t.isoformat(),
                }
            )
            t += timedelta(seconds=rng.randint(20, 180))
        sessions_out.append({"session_id": sid, "turns": out_turns})

    qs_out = []
    for n, (cat, question, answer, keys) in enumerate(questions + multi_evidence, 1):
        qs_out.append(
            {
                "id": f"{cid}-q{n:03d}",
                "question": question,
                "answer": answer,
                "evidence": [keyed[k] for k in keys],
                "category": cat,
            }
        )
    return {
        "id": cid,
        "namespace": f"synthetic-{cid}",
        "today": today.isoformat(),
        "sessions": sessions_out,
        "questions": qs_out,
    }


def make_dataset(seed: int = 7, n_conversations: int = N_CONVERSATIONS) -> dict[str, Any]:
    rng = random.Random(seed)
    convs = [build_conversation(rng, i, NAMES) for i in range(n_conversations)]
    return {
        "name": f"synthetic-eval-seed{seed}",
        "description": "Synthetic, template-generated by bench/make_eval_set.py; not real conversations.",
        "conversations": convs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--conversations", type=int, default=N_CONVERSATIONS)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = make_dataset(args.seed, args.conversations)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    turns = sum(len(s["turns"]) for c in data["conversations"] for s in c["sessions"])
    qs = [q for c in data["conversations"] for q in c["questions"]]
    cats: dict[str, int] = {}
    for q in qs:
        cats[q["category"]] = cats.get(q["category"], 0) + 1
    print(
        f"wrote {args.out}: {len(data['conversations'])} conversations, {turns} turns, {len(qs)} questions"
        f" {cats}, {args.out.stat().st_size / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
