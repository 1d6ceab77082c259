"""English cues: which sentences are preferences, decisions, pitfalls, constraints, tasks or facts."""

from __future__ import annotations

import re

from memos.governance.entities.english import KINSHIP

_I = re.I
# People in the speaker's life, beyond L3's kinship words: a sentence about one is a fact to keep.
_PEOPLE = (
    rf"{KINSHIP}|siblings?|kids?|child|children|baby|parents|spouse|fianc[eé]e?|twins?|in-laws|family|"
    r"classmate|teammate|mentor|landlord|landlady|coach|therapist|housemate|flatmate|best\s+friend"
)
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "preferences",
        re.compile(
            r"\b(?:i|we)\s+(?:really\s+|also\s+|do\s+not\s+|don'?t\s+|do\s+|still\s+)?"
            r"(?:prefer|like|love|enjoy|hate|dislike|adore|can'?t stand)\b"
            r"|\bmy\s+fav(?:ou)?rite\b|\bi'?m\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\b|\b(?:i'?d|i\s+would)\s+rather\b"
            r"|\b(?:obsessed|hooked|crazy|passionate|addicted)\s+(?:with|on|about|to)\b|\bcan'?t get enough of\b"
            r"|\bi\s+could\s+\w+\s+.{1,40}\s+every\b|\b(?:i'?m|i\s+am)\s+(?:really\s+)?into\b"
            r"|\bis\s+the\s+best\s+[\w ]{1,20}\s+(?:on earth|ever|in the world|there is)\b"
            r"|\bmy\s+(?:comfort\s+food|go-?to|guilty\s+pleasure|happy\s+place)\b",
            _I,
        ),
    ),
    (
        "decisions",
        re.compile(
            r"\b(?:we|i|they|the team)\s+(?:have\s+|'ve\s+|just\s+)?(?:decided|agreed|chose|settled on|will use|"
            r"are going with|went with|picked|opted)\b|\b(?:we|i)'ll\s+use\b|\blet'?s\s+(?:go with|use|stick with)\b"
            r"|\bdecision\b",
            _I,
        ),
    ),
    (
        "pitfalls",
        re.compile(
            r"\b(?:watch out|careful|beware|bugs?|failed|fails|failing|failure|broke|broken|breaks|mistakes?|"
            r"errors?|crash(?:ed|es)?|outage|regression|gotcha|pitfall|doesn'?t work|didn'?t work|went wrong)\b",
            _I,
        ),
    ),
    (
        "constraints",
        re.compile(
            r"\b(?:must|mustn'?t|never|always|don'?t(?!\s+(?:know|think|remember|worry|mind))|do not|"
            r"can'?t(?!\s+wait)|cannot|shouldn'?t|should not|not allowed|required|requirement|deadline|"
            r"due (?:on|by)|budget|at most|at least|no more than|no later than|allergic|allergy)\b",
            _I,
        ),
    ),
    (
        "open_tasks",
        re.compile(
            r"\b(?:todo|to-do|need to|needs to|have to|has to|remind me|don'?t forget|remember to|follow up|"
            r"i'?ll|i will|we'?ll|we will|going to|gonna|plan to|planning to|next step|action item)\b",
            _I,
        ),
    ),
    (
        "facts",
        re.compile(
            r"\b(?:i am|i'm|i was|my\s+[\w-]+(?:\s+[\w-]+)?\s+(?:is|are|was|were)|i\s+(?:live|lived|work|worked|"
            r"study|studied|grew up|was born|have|own|moved|got)|(?:lives|lived|works|worked|born|located|based)\s+"
            r"(?:in|at|for|on)|is\s+(?:called|named)|named|[\w-]+'s\s+(?:birthday|name|address|phone))\b"
            # about someone in the speaker's life ("My best friend Jun is teaching me the cello",
            # "Our neighbour's kid just turned 7"), or what someone likes ("She hates mushrooms")
            rf"|\b(?:my|our)\s+(?:[\w-]+\s+){{0,2}}(?:{_PEOPLE})(?:['\u2019]s)?\b"
            r"|\b(?:he|she|they)\s+(?:really\s+|also\s+|still\s+)?(?:loves|likes|hates|prefers|adores|enjoys|"
            r"love|like|hate|prefer|adore|enjoy|dislikes?|can'?t stand)\b"
            # what happened to the speaker: first person and an event verb, or a number or date said
            # about themselves (a bare number in chatter is no fact)
            r"|\b(?:i|we)\s+(?:just\s+|finally\s+|also\s+)?(?:went|took|adopted|bought|joined|started|signed up|"
            r"competed|finished|ran|visited|booked|met|married|got|won|learned|made|baked|built|picked up|"
            r"have been|'ve been|been)\b|\b(?:signed up for|took a|competed in|adopted)\b"
            r"|\b(?:on|by|until|since|before|after|next|last|this|in|early|late)\s+(?:monday|tuesday|wednesday|"
            r"thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|"
            r"october|november|december)\b"
            r"|\b(?:at|on|by|until|from|since|before|after)\s+\d|\d\s*(?:am|pm|years?|months?|weeks?|days?|hours?|"
            r"minutes?|kg|km|miles?|%|dollars|euros)\b"
            r"|^(?=.*\b(?:i|i'm|i've|my|we|our)\b).*(?:\d|\b(?:january|february|march|april|may|june|july|"
            r"august|september|october|november|december|monday|tuesday|wednesday|thursday|friday|saturday|"
            r"sunday)\b)",
            _I,
        ),
    ),
)
FILLER = frozenset(
    [
        "ok",
        "okay",
        "k",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "a",
        "lot",
        "so",
        "much",
        "very",
        "sure",
        "great",
        "cool",
        "got",
        "it",
        "sounds",
        "good",
        "nice",
        "yes",
        "no",
        "yep",
        "yeah",
        "nope",
        "alright",
        "all",
        "right",
        "hmm",
        "hm",
        "lol",
        "haha",
        "bye",
        "hi",
        "hello",
        "hey",
        "perfect",
        "awesome",
        "noted",
        "right",
        "fine",
        "good",
        "morning",
        "evening",
        "night",
        "welcome",
        "np",
        "of",
        "course",
        "absolutely",
    ]
)
