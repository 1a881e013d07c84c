"""Emoji names and what they say: the pinned list (Unicode's emoji-test.txt) and the labels of
the single-person emoji read from it (tone, hair, gender, age, role).

Every label comes from one source, the emoji's CLDR name in Unicode 15.0's emoji-test.txt
(Debian's `unicode-data`), e.g. "woman health worker: medium-dark skin tone" -> gender woman,
role "health worker", tone medium-dark; "man: red hair, light skin tone" -> hair red. The
sequences themselves (skin-tone modifiers, ZWJ hair components) say the same; the names are
used because they also name the roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from condgan.errors import CondganError

TONES = ("default", "light", "medium-light", "medium", "medium-dark", "dark")  # default: the yellow one
HAIRS = ("none", "red", "curly", "white", "bald", "blond", "beard")  # none: the figure's usual hair
GENDERS = ("person", "woman", "man")
AGES = ("adult", "baby", "child", "older")
PERSON_SUBGROUPS = (
    "person",
    "person-gesture",
    "person-role",
    "person-fantasy",
    "person-activity",
    "person-sport",
    "person-resting",
)
TONE_MODIFIERS = range(0x1F3FB, 0x1F400)  # the five Fitzpatrick modifiers

_HAIR_WORDS = {
    "red hair": "red",
    "curly hair": "curly",
    "white hair": "white",
    "bald": "bald",
    "blond hair": "blond",
    "beard": "beard",
}
# Heads whose gender, age or role is in the word itself, not in a "woman ..." / "man ..." prefix.
_NOUNS: dict[str, tuple[str, str, str]] = {  # head -> (gender, age, role)
    "person": ("person", "adult", "person"),
    "woman": ("woman", "adult", "person"),
    "man": ("man", "adult", "person"),
    "baby": ("person", "baby", "person"),
    "child": ("person", "child", "person"),
    "boy": ("man", "child", "person"),
    "girl": ("woman", "child", "person"),
    "older person": ("person", "older", "person"),
    "old man": ("man", "older", "person"),
    "old woman": ("woman", "older", "person"),
    "baby angel": ("person", "baby", "angel"),
    "person with crown": ("person", "adult", "royal"),
    "prince": ("man", "adult", "royal"),
    "princess": ("woman", "adult", "royal"),
    "mx claus": ("person", "adult", "claus"),
    "santa claus": ("man", "adult", "claus"),
    "mrs. claus": ("woman", "adult", "claus"),
    "merperson": ("person", "adult", "merperson"),
    "merman": ("man", "adult", "merperson"),
    "mermaid": ("woman", "adult", "merperson"),
    "pregnant person": ("person", "adult", "pregnant"),
    "pregnant man": ("man", "adult", "pregnant"),
    "pregnant woman": ("woman", "adult", "pregnant"),
    "deaf person": ("person", "adult", "deaf"),
    "deaf man": ("man", "adult", "deaf"),
    "deaf woman": ("woman", "adult", "deaf"),
}
_PREFIXES = {"person": "person", "people": "person", "woman": "woman", "women": "woman", "man": "man", "men": "man"}
_LINE = re.compile(r"^([0-9A-F ]+?)\s*;\s*([a-z-]+)\s*#\s*\S+\s+E\d+\.\d+\s+(.+)$")


@dataclass(frozen=True)
class Entry:
    """One line of emoji-test.txt."""

    codepoints: tuple[int, ...]
    status: str  # fully-qualified, minimally-qualified, unqualified, component
    group: str
    subgroup: str
    name: str

    @property
    def text(self) -> str:
        return "".join(map(chr, self.codepoints))


@dataclass(frozen=True)
class Person:
    tone: str
    hair: str
    gender: str
    age: str
    role: str

    @property
    def figure(self) -> str:
        """Everything but the tone: the images of one figure differ only in skin tone (the unit of the split)."""
        return f"{self.role}|{self.gender}|{self.age}|{self.hair}"


def parse_emoji_test(text: str) -> list[Entry]:
    """Every emoji line of emoji-test.txt, with its group and subgroup."""
    group = subgroup = ""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("#"):
            match = _LINE.match(line.strip())
            if not match:
                raise CondganError(f"emoji-test.txt line {number}: not 'code points ; status # emoji E<version> name'")
            codepoints = tuple(int(c, 16) for c in match.group(1).split())
            entries.append(Entry(codepoints, match.group(2), group, subgroup, match.group(3).strip()))
    return entries


def person_of(entry: Entry) -> Person:
    """The labels of a single-person emoji, from its name (see the module docstring)."""
    head, _, qualifiers = entry.name.partition(":")
    tone, hair = "default", "none"
    for q in filter(None, (q.strip() for q in qualifiers.split(","))):
        if q.endswith(" skin tone") and q[: -len(" skin tone")] in TONES:
            tone = q[: -len(" skin tone")]
        elif q in _HAIR_WORDS:
            hair = _HAIR_WORDS[q]
        else:
            raise CondganError(f"emoji {entry.name!r}: unknown qualifier {q!r}")
    head = head.strip().lower()
    if head in _NOUNS:
        gender, age, role = _NOUNS[head]
    else:
        first, _, rest = head.partition(" ")
        gender, role = (_PREFIXES[first], rest) if first in _PREFIXES and rest else ("person", head)
        age = "adult"
    if tone != "default" and not any(c in TONE_MODIFIERS for c in entry.codepoints):
        raise CondganError(f"emoji {entry.name!r}: a skin tone in the name but no modifier in the sequence")
    return Person(tone, hair, gender, age, role)


def is_single_person(entry: Entry) -> bool:
    return entry.group == "People & Body" and entry.subgroup in PERSON_SUBGROUPS and entry.status == "fully-qualified"
