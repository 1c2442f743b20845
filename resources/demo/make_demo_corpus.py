"""Generate the Interp Studio demo corpus: synthetic movie-review sentences.

Every sentence is composed from the hand-written templates and word lists in
this file (written for this project; nothing is taken from MR, SST, IMDB or any
other public dataset). The generator is deterministic: the same seeds always
give the same files.

Labels: 0 = negative, 1 = positive; each file is balanced.

Sentence families (the mix is chosen so that a bag-of-words model does well
but not perfectly):

- plain opinions ("The soundtrack is genuinely moving.")
- performances, recommendations, verdicts, exclamations
- negation: "not funny at all" is negative, "never boring" is positive
- contrast: "the plot is thin, but the acting is superb" -- the label follows
  the clause after "but"/"yet"/"still" (or the main clause after "although")
- multi-clause sentences with neutral filler ("Shot in eleven days, ...")

Film titles are sometimes written in double quotes, so a reader that applies
CSV quoting rules to the TSV files would mangle them (read them with
``csv.QUOTE_NONE``, like the shared datasets).

Usage::

    python resources/demo/make_demo_corpus.py            # writes train.tsv and test.tsv here
    python resources/demo/make_demo_corpus.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

TRAIN_SEED = 20240611
TEST_SEED = 777013
N_TRAIN = 3000
N_TEST = 600

NEG, POS = 0, 1

# ----------------------------------------------------------------------------- word lists

SUBJECTS = [
    "the film", "this movie", "the director's new thriller", "the cast", "the soundtrack",
    "the script", "the screenplay", "the ending", "the second half", "the final act",
    "the dialogue", "the cinematography", "the pacing", "the plot", "the lead performance",
    "the score", "the editing", "the effects work", "this sequel", "the documentary",
    "the animated feature", "the new comedy", "the horror remake", "the opening scene",
    "the love story", "the courtroom drama", "the heist picture", "the period piece",
    "the climax", "the supporting cast", "the production design", "the costume work",
    "the story", "the first hour", "the whole thing", "the war epic", "the big musical number",
    "the road movie", "the family drama", "the spy caper", "the debut feature",
    "the central mystery", "the villain", "the camera work", "the adaptation",
]

TITLES = [
    "Glass Harbor", "The Last Lighthouse", "Midnight Orchard", "Copper Sky", "Paper Lanterns",
    "The Quiet Tenant", "Saltwater Kings", "Northbound", "A House of Kites", "Velvet Static",
    "The Ninth Winter", "Little Comets", "Ashfall Road", "The Orchid Thief of Marlowe Street",
    "Borrowed Thunder", "Lantern Bay", "The Cartographer's Daughter", "Dust and Mercy",
]

ACTORS = [
    "Marta Ovell", "Jonah Prell", "Lena Harrowgate", "Tomas Quill", "Anouk Bellari",
    "Rafe Denholm", "Priya Castellane", "Osric Vane", "Delphine Morrow", "Kwame Adeyori",
    "Sunniva Trask", "Emil Varga-Holt", "Bea Lindqvist", "Callum Ashdown", "Ines Marbella",
    "Teodor Rusk", "Hana Okabe-Reyes", "Gideon Farrow", "Yelena Strand", "Malik Osterberg",
]

DIRECTORS = [
    "Hollis Brandt", "Vera Szalai", "Otto Renwick", "Simone Achterberg", "Dev Kalhan",
    "Maren Quist", "Lucien Oduya", "Agnes Tolliver",
]

ROLES = [
    "a tired detective", "the grieving mother", "a small-town baker", "the villain",
    "a retired boxer", "an anxious astronaut", "the eldest sister", "a cynical lawyer",
    "a runaway teenager", "the lighthouse keeper", "a disgraced chef", "the mayor",
    "a stubborn farmer", "an aging rock star", "a nervous bride",
]

POS_ADJ = [
    "superb", "wonderful", "gripping", "moving", "charming", "clever", "funny", "delightful",
    "stunning", "brilliant", "heartfelt", "engaging", "witty", "beautiful", "sharp",
    "thoughtful", "memorable", "tender", "thrilling", "inventive", "assured", "luminous",
    "hilarious", "absorbing", "graceful", "entertaining", "satisfying", "fresh", "rich",
    "terrific", "affecting", "lovely", "confident", "gorgeous", "smart", "exhilarating",
]

NEG_ADJ = [
    "dull", "tedious", "boring", "clumsy", "lifeless", "predictable", "shallow", "messy",
    "flat", "bland", "forgettable", "tiresome", "awkward", "overlong", "silly", "pointless",
    "muddled", "lazy", "stale", "sloppy", "hollow", "grating", "joyless", "confusing",
    "unconvincing", "trite", "cheap", "ugly", "exhausting", "lame", "dreary", "sluggish",
    "incoherent", "wooden", "thin", "mediocre",
]

# adjectives that read naturally after "never" / "not" in the negation templates
NEG_ADJ_FOR_NEVER = [
    "boring", "dull", "tedious", "predictable", "silly", "tiresome", "sluggish", "confusing",
    "stale", "awkward", "clumsy", "preachy", "cheap", "lazy", "dreary", "forgettable",
]
POS_ADJ_FOR_NOT = [
    "funny", "clever", "moving", "gripping", "charming", "exciting", "scary", "romantic",
    "original", "thrilling", "engaging", "interesting", "witty", "entertaining", "convincing",
    "memorable", "smart", "touching", "suspenseful", "satisfying",
]

INTENSIFIERS = [
    "very", "really", "truly", "remarkably", "genuinely", "utterly", "deeply", "consistently",
    "surprisingly", "quite", "extremely", "so", "wonderfully", "downright", "thoroughly",
]
NEG_INTENSIFIERS = [
    "very", "really", "truly", "utterly", "painfully", "hopelessly", "consistently",
    "surprisingly", "quite", "extremely", "so", "downright", "thoroughly", "depressingly",
]

POS_NOUN = [
    "treat", "triumph", "gem", "joy", "delight", "pleasure", "revelation", "crowd-pleaser",
    "knockout", "marvel",
]
NEG_NOUN = [
    "mess", "disaster", "slog", "letdown", "chore", "misfire", "dud", "bore", "failure",
    "waste of time",
]
NEUTRAL_NOUN = ["film", "movie", "picture", "thriller", "comedy", "drama", "debut", "sequel", "story"]

POS_VERB_PHRASES = [
    "kept me hooked from the first scene", "won me over completely", "made me laugh out loud",
    "stayed with me for days", "earns every one of its big moments", "pulls you right in",
    "moved me to tears", "had the whole audience cheering", "rewards your patience",
    "lands almost every joke", "builds to a wonderful finale", "never puts a foot wrong",
    "works beautifully", "delivers on every promise", "holds your attention throughout",
    "left me grinning", "surprised me again and again",
]
NEG_VERB_PHRASES = [
    "put me to sleep", "falls apart in the last act", "drags on forever", "wastes a fine cast",
    "made me check my watch", "goes nowhere", "misses almost every joke",
    "never finds its footing", "collapses under its own weight", "left me cold",
    "feels like a chore", "runs out of ideas early", "insults the audience",
    "tries too hard and fails", "loses the plot halfway through", "squanders a good premise",
    "bored me stiff",
]

POS_FIRST_PERSON = [
    "I loved", "I adored", "I enjoyed", "I really liked", "I was charmed by", "I was moved by",
    "I was impressed by", "I was delighted by", "I admired",
]
NEG_FIRST_PERSON = [
    "I hated", "I disliked", "I was bored by", "I could not stand", "I regretted watching",
    "I was annoyed by", "I was disappointed by", "I got tired of", "I was irritated by",
]

POS_RECOMMEND = [
    "I would happily recommend it to anyone.", "Go see it on the biggest screen you can find.",
    "I can't wait to watch it again.", "Do not miss it.", "Easily one of the best films this year.",
    "Bring your friends.", "It is worth every penny.", "Highly recommended.",
    "I would gladly see it twice.", "Put it at the top of your list.",
]
NEG_RECOMMEND = [
    "I would not recommend it to anyone.", "Save your money.", "Skip it.",
    "I want those two hours back.", "Easily one of the worst films this year.",
    "Wait for it to show up on a plane, or don't.", "It is not worth the ticket.",
    "Avoid it.", "I walked out early.", "Stay home instead.",
]

NOT_PHRASES_NEG = [  # negated positive -> negative
    "is not {p} at all", "is not even slightly {p}", "is never {p}", "is hardly {p}",
    "is anything but {p}", "is not nearly as {p} as it thinks", "fails to be {p}",
    "is far from {p}", "is not {p} in the least",
]
NOT_PHRASES_POS = [  # negated negative -> positive
    "is never {n}", "is not {n} for a second", "is never once {n}", "is not {n} at all",
    "is anything but {n}", "is far from {n}", "is not the least bit {n}", "never feels {n}",
]
NEG_STANDALONE = [
    "There is nothing {p} about {s}.", "I did not find {s} {p} at all.",
    "Nothing in {s} is {p}.", "None of it is {p}.", "Not one scene in {s} is {p}.",
    "I did not enjoy {s} one bit.", "I did not laugh once.", "I didn't care about anyone in it.",
    "{S} does not work at all.", "{S} doesn't work on any level.",
]
POS_STANDALONE = [
    "There is nothing {n} about {s}.", "I was never bored for a second.",
    "Not once did I feel {feel}.", "I could not stop smiling.", "I could not look away.",
    "{S} never lets up.", "There is not a {n} moment in {s}.", "Nothing about {s} feels {n}.",
    "I never once looked at my watch.", "{S} is never {n}, not even for a minute.",
]
NEG_FEELINGS = ["bored", "cheated", "lost", "restless", "talked down to", "impatient"]

NEUTRAL_OPENERS = [
    "Shot in eleven days", "Based on a novel by Ada Fenwick", "Running almost two hours",
    "Set in a rainy harbour town", "Filmed mostly at night", "Told in three chapters",
    "Released quietly this spring", "Produced on a modest budget", "Set in the late seventies",
    "Adapted from a radio play", "Made by a first-time director", "Shot on grainy film stock",
    "Following a family over one summer", "Opening with a long silent sequence",
]
FILLERS = [
    "Honestly", "Frankly", "In the end", "For the most part", "On the whole", "Overall",
    "To be fair", "If you ask me", "All in all", "In short", "Simply put", "Truth be told",
    "At the end of the day", "As far as I am concerned",
]
TAILS = [
    "from start to finish", "throughout", "for most of its running time", "in every scene",
    "from the opening credits on", "right to the end", "again and again", "by the final reel",
]

CONTRAST_WORDS = [", but ", ", yet ", "; still, ", ", but in the end ", ". However, ", ", though "]


# ----------------------------------------------------------------------------- helpers


def cap(s: str) -> str:
    i = 1 if s.startswith('"') else 0
    return s[: i + 1].upper() + s[i + 1 :]


def a_an(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def c(self, seq):
        return self.r.choice(seq)

    def adj(self, label: int) -> str:
        return self.c(POS_ADJ if label == POS else NEG_ADJ)

    def intens(self, label: int) -> str:
        if self.r.random() < 0.45:
            return ""
        return self.c(INTENSIFIERS if label == POS else NEG_INTENSIFIERS) + " "

    def attr_intens(self, label: int) -> str:
        """Intensifier usable before an attributive adjective ("a truly dull film")."""
        w = self.intens(label)
        return "" if w.strip() in ("so", "quite") else w

    def subject(self, avoid: str | None = None) -> str:
        s = self._subject()
        while avoid is not None and s.lower() == avoid.lower():
            s = self._subject()
        return s

    def _subject(self) -> str:
        x = self.r.random()
        if x < 0.12:
            title = self.c(TITLES)
            return f'"{title}"' if self.r.random() < 0.3 else title
        if x < 0.2:
            return f"{self.c(DIRECTORS)}'s new {self.c(NEUTRAL_NOUN)}"
        if x < 0.27:
            return f"{self.c(ACTORS)}'s performance"
        return self.c(SUBJECTS)

    def clause(self, label: int, avoid: str | None = None) -> str:
        """An independent clause with the given polarity, lower-case start.

        `avoid` is a clause already in the sentence: its subject is not reused.
        """
        s = self.subject()
        while avoid is not None and avoid.lower().startswith(s.lower() + " "):
            s = self.subject()
        k = self.r.randrange(6)
        if k == 0:
            return f"{s} is {self.intens(label)}{self.adj(label)}"
        if k == 1:
            a1, a2 = self.r.sample(POS_ADJ if label == POS else NEG_ADJ, 2)
            return f"{s} feels {a1} and {a2}"
        if k == 2:
            vp = self.c(POS_VERB_PHRASES if label == POS else NEG_VERB_PHRASES)
            return f"{s} {vp}"
        if k == 3:
            return f"{s} is {self.intens(label)}{self.adj(label)} {self.c(TAILS)}"
        if k == 4:
            noun = self.c(POS_NOUN if label == POS else NEG_NOUN)
            return f"{s} is {a_an(noun)}"
        return f"{s} turns out to be {self.intens(label)}{self.adj(label)}"

    # ---------------------------------------------------------------- families

    def plain(self, label: int) -> str:
        k = self.r.randrange(9)
        if k == 0:
            return cap(self.clause(label)) + "."
        if k == 1:
            return f"{self.c(FILLERS)}, {self.clause(label)}."
        if k == 2:
            noun = self.c(NEUTRAL_NOUN)
            return f"What {a_an(self.attr_intens(label) + self.adj(label))} {noun}!"
        if k == 3:
            actor, role = self.c(ACTORS), self.c(ROLES)
            return f"{actor} is {self.intens(label)}{self.adj(label)} as {role}."
        if k == 4:
            actor, role = self.c(ACTORS), self.c(ROLES)
            return f"As {role}, {actor} gives {a_an(self.adj(label))} performance."
        if k == 5:
            fp = self.c(POS_FIRST_PERSON if label == POS else NEG_FIRST_PERSON)
            return f"{fp} {self.subject()}."
        if k == 6:
            rec = self.c(POS_RECOMMEND if label == POS else NEG_RECOMMEND)
            return f"{cap(self.clause(label))}. {rec}"
        if k == 7:
            return f"{self.c(DIRECTORS)} has made {a_an(self.attr_intens(label) + self.adj(label))} {self.c(NEUTRAL_NOUN)}."
        return f"{self.c(NEUTRAL_OPENERS)}, {self.clause(label)}."

    def negation(self, label: int) -> str:
        s = self.subject()
        k = self.r.randrange(3)
        if label == NEG:
            if k == 0:
                ph = self.c(NOT_PHRASES_NEG).format(p=self.c(POS_ADJ_FOR_NOT))
                return f"{cap(s)} {ph}."
            if k == 1:
                t = self.c(NEG_STANDALONE)
                return t.format(p=self.c(POS_ADJ_FOR_NOT), s=s, S=cap(s))
            ph = self.c(NOT_PHRASES_NEG).format(p=self.c(POS_ADJ_FOR_NOT))
            return f"{self.c(FILLERS)}, {s} {ph}."
        if k == 0:
            ph = self.c(NOT_PHRASES_POS).format(n=self.c(NEG_ADJ_FOR_NEVER))
            return f"{cap(s)} {ph}."
        if k == 1:
            t = self.c(POS_STANDALONE)
            return t.format(n=self.c(NEG_ADJ_FOR_NEVER), s=s, S=cap(s), feel=self.c(NEG_FEELINGS))
        ph = self.c(NOT_PHRASES_POS).format(n=self.c(NEG_ADJ_FOR_NEVER))
        return f"{self.c(FILLERS)}, {s} {ph}."

    def contrast(self, label: int) -> str:
        other = 1 - label
        k = self.r.randrange(3)
        first = self.clause(other)
        second = self.clause(label, avoid=first)
        if k == 0:  # A, but B  -> B
            joiner = self.c(CONTRAST_WORDS)
            if joiner.startswith(". "):
                second = cap(second)
            return f"{cap(first)}{joiner}{second}."
        if k == 1:  # Although A, B -> B
            return f"Although {first}, {second}."
        # Despite an <adj> <noun>, B -> B
        noun = self.c(["script", "premise", "start", "cast", "trailer", "score", "first act", "budget"])
        return f"Despite {a_an(self.adj(other))} {noun}, {second}."

    def multi(self, label: int) -> str:
        k = self.r.randrange(3)
        first = self.clause(label)
        second = self.clause(label, avoid=first)
        if k == 0:
            return f"{cap(first)}, and {second}."
        if k == 1:
            return f"{cap(first)}, and {second} as well."
        rec = self.c(POS_RECOMMEND if label == POS else NEG_RECOMMEND)
        return f"{self.c(NEUTRAL_OPENERS)}, {first}, and {second}. {rec}"

    def sentence(self, label: int) -> str:
        x = self.r.random()
        if x < 0.56:
            return self.plain(label)
        if x < 0.74:
            return self.negation(label)
        if x < 0.86:
            return self.contrast(label)
        return self.multi(label)


def n_tokens(s: str) -> int:
    return len(s.split())


def generate(seed: int, n: int, exclude: set[str] = frozenset()) -> list[tuple[int, str]]:
    """Return n (label, text) pairs, half per label, unique and not in `exclude`."""
    g = Gen(seed)
    rows: list[tuple[int, str]] = []
    seen: set[str] = set()
    per_label = n // 2
    for label in (NEG, POS):
        count = 0
        while count < per_label:
            s = " ".join(g.sentence(label).split())
            key = s.lower()
            if key in seen or key in exclude or not 6 <= n_tokens(s) <= 30:
                continue
            assert "\t" not in s and "\n" not in s
            seen.add(key)
            rows.append((label, s))
            count += 1
    g.r.shuffle(rows)
    return rows


def write_tsv(path: Path, rows: list[tuple[int, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("label\ttext\n")
        for label, text in rows:
            f.write(f"{label}\t{text}\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    train = generate(TRAIN_SEED, N_TRAIN)
    test = generate(TEST_SEED, N_TEST, exclude={t.lower() for _, t in train})
    write_tsv(args.out / "train.tsv", train)
    write_tsv(args.out / "test.tsv", test)
    print(f"wrote {len(train)} train and {len(test)} test rows to {args.out}")


if __name__ == "__main__":
    main()
