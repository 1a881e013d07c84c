"""Colour datasets drawn from installed fonts: emoji people with exact attributes, every emoji
by group, and line art <-> colour pairs.

Sources (Debian packages, each pinned by sha256; a newer release is accepted only by adding
its checksum here after re-measuring, since glyphs change between releases):
- NotoColorEmoji.ttf 2.042 (`fonts-noto-color-emoji`, OFL-1.1): the colour images, read as the
  font's stored PNG bitmaps (CBDT, 136x128 RGBA) through its cmap and ligature table with
  fontTools, so skin-tone and ZWJ sequences need no text shaper;
- Symbola_hint.ttf 2.60 (`fonts-symbola`, free use): black outlines of single code points, drawn
  with FreeType through Pillow;
- emoji-test.txt of Unicode 15.0 (`unicode-data`, Unicode licence): every emoji's sequence,
  group, subgroup and name, the one source of every label (condgan.data.emoji_labels).
`CONDGAN_EMOJI_SOURCES=DIR` reads the three files from DIR instead of Debian's paths.

Images: the bitmap centred on a square canvas of its width, composited on white (BACKGROUND),
resized with a Lanczos filter. The split is by *figure* (an emoji without its skin tone): a
figure's images are all in train or all in test, chosen by a hash of the figure's name (one in
TEST_EVERY figures), so the test split holds figures training never saw in any tone.
Built arrays are cached in the user cache (`condgan data build NAME`, or on first use).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from condgan.conditions import ConditionSpec, Factor
from condgan.data.emoji_labels import (
    AGES,
    GENDERS,
    HAIRS,
    TONE_MODIFIERS,
    TONES,
    Entry,
    is_single_person,
    parse_emoji_test,
    person_of,
)
from condgan.data.image_data import ImageData
from condgan.errors import CondganError

BACKGROUND = (255, 255, 255)
DEFAULT_SIZE = 64
MAX_SIZE = 128
TEST_EVERY = 8  # one figure in 8 is in the test split
FORMAT = 1  # of the cached arrays: bump when the drawing or the labels change
VS16 = 0xFE0F


@dataclass(frozen=True)
class Source:
    name: str
    path: Path  # where Debian installs it
    sha256: tuple[str, ...]  # every accepted release
    package: str
    release: str


NOTO = Source(
    "NotoColorEmoji.ttf",
    Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
    ("e5899ed38b8ed83e08bd3ac5de09791e9d19d288333a796de1d35ad17396f1ec",),
    "fonts-noto-color-emoji",
    "2.042 (Debian 12)",
)
SYMBOLA = Source(
    "Symbola_hint.ttf",
    Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"),
    ("af8bd8cc9c808272034651cb5ebf6c38370ae536fe631eb89462f127f11e793f",),
    "fonts-symbola",
    "2.60 (Debian 12)",
)
EMOJI_TEST = Source(
    "emoji-test.txt",
    Path("/usr/share/unicode/emoji/emoji-test.txt"),
    ("8445f23ac8388e096be19d0262e14fceff856ff52093f2356dc89485f1a853db",),
    "unicode-data",
    "Unicode 15.0 (Debian 12)",
)


def source_path(source: Source) -> Path:
    """The verified path of a source file; a missing file or another release is one line naming the fix."""
    folder = os.environ.get("CONDGAN_EMOJI_SOURCES")
    path = Path(folder) / source.name if folder else source.path
    if not path.is_file():
        raise CondganError(f"{source.name} not found at {path}: apt-get install {source.package}")
    digest = _sha256(path)
    if digest not in source.sha256:
        raise CondganError(
            f"{path} is not the pinned {source.package} {source.release} (sha256 {digest[:12]}..., expected "
            f"{source.sha256[0][:12]}...): the images would differ; install that release or add its checksum "
            "after re-measuring"
        )
    return path


@cache
def _sha256_of(path: str, mtime: float, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_of(str(path.resolve()), st.st_mtime, st.st_size)


def emoji_list() -> list[Entry]:
    return parse_emoji_test(source_path(EMOJI_TEST).read_text(encoding="utf-8"))


class ColourFont:
    """The colour bitmaps of Noto Color Emoji, looked up by code-point sequence."""

    def __init__(self, path: Path) -> None:
        from fontTools.ttLib import TTFont

        self.font = TTFont(str(path), lazy=True)
        self.cmap = self.font.getBestCmap()
        self.ligatures: dict[tuple[str, ...], str] = {}
        for lookup in self.font["GSUB"].table.LookupList.Lookup:
            if lookup.LookupType == 4:  # ligature substitution: a sequence of glyphs -> one glyph
                for table in lookup.SubTable:
                    for first, ligatures in table.ligatures.items():
                        for lig in ligatures:
                            self.ligatures.setdefault((first, *lig.Component), lig.LigGlyph)
        self.strike = self.font["CBDT"].strikeData[0]

    def glyph(self, codepoints: tuple[int, ...]) -> str | None:
        """The glyph that draws the sequence (variation selectors dropped), or None."""
        cps = tuple(c for c in codepoints if c != VS16)
        names = tuple(self.cmap.get(c) for c in cps)
        if None in names:
            return None
        name = names[0] if len(names) == 1 else self.ligatures.get(names)
        return name if name in self.strike else None

    def rgba(self, glyph: str) -> Image.Image:
        return Image.open(io.BytesIO(self.strike[glyph].imageData)).convert("RGBA")


def on_canvas(rgba: Image.Image, size: int) -> np.ndarray:
    """(3, size, size) uint8: centred on a square transparent canvas, over BACKGROUND, resized."""
    side = max(rgba.size)
    canvas = Image.new("RGBA", (side, side), (*BACKGROUND, 0))
    canvas.paste(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    flat = Image.new("RGBA", canvas.size, (*BACKGROUND, 255))
    flat.alpha_composite(canvas)
    rgb = flat.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(rgb).transpose(2, 0, 1).copy()


def line_art(font: ImageFont.FreeTypeFont, text: str, size: int, box: int = 136) -> np.ndarray | None:
    """(1, size, size) uint8: the outline font's glyph in black on white, fitted to the colour
    bitmaps' box (its ink box scaled to 15/16 of the canvas and centred); None if it draws nothing."""
    left, top, right, bottom = font.getbbox(text)
    if right - left < 2 or bottom - top < 2:
        return None
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 255)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=0)
    ink = np.asarray(canvas) < 250
    if not ink.any():
        return None
    scale = box * 15 / 16 / max(canvas.size)
    glyph = canvas.resize((max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale))), Image.LANCZOS)
    square = Image.new("L", (box, box), 255)
    square.paste(glyph, ((box - glyph.width) // 2, (box - glyph.height) // 2))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))[None].copy()


def figure_of(codepoints: tuple[int, ...]) -> str:
    """An emoji's sequence without skin tones and variation selectors: its tones share a figure."""
    return " ".join(f"{c:X}" for c in codepoints if c not in TONE_MODIFIERS and c != VS16)


def in_test(figure: str) -> bool:
    return int(hashlib.sha1(figure.encode()).hexdigest(), 16) % TEST_EVERY == 0


# ---- the datasets ---------------------------------------------------------------------------

PEOPLE_FACTORS = ("tone", "hair", "gender", "age", "role")


@dataclass
class Built:
    """A built dataset, both splits: images (N, 3, S, S), optional line-art inputs (N, 1, S, S),
    codes (N, F) value indices of `factors`, the emoji's names and figures, and which are test."""

    images: np.ndarray
    codes: np.ndarray
    factors: tuple[Factor, ...]
    names: np.ndarray
    figures: np.ndarray
    test: np.ndarray
    inputs: np.ndarray | None = None

    def save(self, path: Path) -> None:
        from condgan.fileio import atomic_write

        arrays = {k: v for k, v in vars(self).items() if k != "factors" and v is not None}
        spec = np.array(json.dumps(ConditionSpec(self.factors).to_json()))

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, format=FORMAT, spec=spec, **arrays)

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> Built | None:
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"]) != FORMAT:
                    return None
                factors = ConditionSpec.from_json(json.loads(str(z["spec"]))).factors
                inputs = z["inputs"] if "inputs" in z.files else None
                return cls(z["images"], z["codes"], factors, z["names"], z["figures"], z["test"], inputs)
        except (OSError, ValueError, KeyError, CondganError):
            return None  # damaged or older: built again


def build_people(size: int) -> Built:
    """emoji-people: every single-person emoji, factors tone / hair / gender / age / role."""
    font = ColourFont(source_path(NOTO))
    rows = []
    for entry in emoji_list():
        glyph = font.glyph(entry.codepoints) if is_single_person(entry) else None
        if glyph is not None:
            rows.append((entry, person_of(entry), glyph))
    roles = ("person", *sorted({p.role for _, p, _ in rows} - {"person"}))
    factors = (
        Factor("tone", TONES, default=TONES[0]),
        Factor("hair", HAIRS, default=HAIRS[0]),
        Factor("gender", GENDERS),
        Factor("age", AGES, default=AGES[0]),
        Factor("role", roles, default=roles[0]),
    )
    values = [[getattr(p, f.name) for f in factors] for _, p, _ in rows]
    codes = np.array([[f.values.index(v) for f, v in zip(factors, vs)] for vs in values], np.int64)
    figures = np.array([p.figure for _, p, _ in rows])
    return Built(
        images=np.stack([on_canvas(font.rgba(g), size) for _, _, g in rows]),
        codes=codes,
        factors=factors,
        names=np.array([e.name for e, _, _ in rows]),
        figures=figures,
        test=np.array([in_test(f) for f in figures]),
    )


def _every_emoji(font: ColourFont, single_only: bool) -> list[tuple[Entry, str]]:
    out, seen = [], set()
    for entry in emoji_list():
        if entry.status not in ("fully-qualified", "component"):
            continue
        if single_only and len([c for c in entry.codepoints if c != VS16]) != 1:
            continue
        glyph = font.glyph(entry.codepoints)
        if glyph is not None and glyph not in seen:
            seen.add(glyph)
            out.append((entry, glyph))
    return out


def slug(text: str) -> str:
    """'Smileys & Emotion' -> 'smileys-emotion': class names one can type after --label."""
    return "-".join(text.lower().replace("&", " ").split())


def _by_group(
    font: ColourFont, rows: list[tuple[Entry, str]], size: int, by: str, inputs: np.ndarray | None = None
) -> Built:
    """One class per Unicode group or subgroup (in the list's CLDR order), split by figure."""
    entries = [e for e, _ in rows]
    values = tuple(dict.fromkeys(slug(getattr(e, by)) for e in entries))
    figures = np.array([figure_of(e.codepoints) for e in entries])
    return Built(
        images=np.stack([on_canvas(font.rgba(g), size) for _, g in rows]),
        codes=np.array([[values.index(slug(getattr(e, by)))] for e in entries], np.int64),
        factors=(Factor("class", values),),
        names=np.array([e.name for e in entries]),
        figures=figures,
        test=np.array([in_test(f) for f in figures]),
        inputs=inputs,
    )


def build_emoji(size: int, by: str) -> Built:
    """emoji / emoji-subgroups: every emoji the colour font draws, class = its group or subgroup."""
    font = ColourFont(source_path(NOTO))
    return _by_group(font, _every_emoji(font, single_only=False), size, by)


def build_lineart(size: int) -> Built:
    """emoji-lineart: the code points both fonts draw, Symbola's line art -> Noto's colour; class = group."""
    colour = ColourFont(source_path(NOTO))
    outline = source_path(SYMBOLA)
    symbola_cmap = _cmap(outline)
    font = ImageFont.truetype(str(outline), 96)
    kept, inputs = [], []
    for entry, glyph in _every_emoji(colour, single_only=True):
        if entry.codepoints[0] in symbola_cmap:
            art = line_art(font, chr(entry.codepoints[0]), size)
            if art is not None:
                kept.append((entry, glyph))
                inputs.append(art)
    return _by_group(colour, kept, size, "group", np.stack(inputs))


def _cmap(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    return set(TTFont(str(path), lazy=True).getBestCmap())


@dataclass(frozen=True)
class FontDataset:
    name: str
    summary: str
    build: Callable[[int], Built]
    sources: tuple[Source, ...]
    paired: bool = False  # has line-art inputs: data.task=paired (pix2pix) or CycleGAN


FONT_DATASETS = {
    d.name: d
    for d in (
        FontDataset(
            "emoji-people",
            "single-person emoji, factors tone x hair x gender x age x role",
            build_people,
            (NOTO, EMOJI_TEST),
        ),
        FontDataset(
            "emoji", "every emoji, class = Unicode group", lambda s: build_emoji(s, "group"), (NOTO, EMOJI_TEST)
        ),
        FontDataset(
            "emoji-subgroups",
            "every emoji, class = Unicode subgroup",
            lambda s: build_emoji(s, "subgroup"),
            (NOTO, EMOJI_TEST),
        ),
        FontDataset(
            "emoji-lineart",
            "Symbola line art -> Noto colour (data.task=paired), class = group",
            build_lineart,
            (NOTO, SYMBOLA, EMOJI_TEST),
            paired=True,
        ),
    )
}


def check_size(name: str, size: int | None) -> int:
    size = size or DEFAULT_SIZE
    if not 8 <= size <= MAX_SIZE:
        raise CondganError(f"{name} is drawn at 8 to {MAX_SIZE} px (data.img_size), got {size}")
    return size


def cache_path(name: str, size: int) -> Path:
    from condgan.data import user_cache_dir  # data/__init__ imports this module

    return user_cache_dir() / "emoji" / f"{name}-{size}px.npz"


def built(name: str, size: int | None = None, *, rebuild: bool = False) -> tuple[Built, Path]:
    """The dataset at `size` px: from the cache, else built from the fonts (and cached).
    The sources are verified every time, so a changed font is never read from an old cache."""
    dataset = FONT_DATASETS[name]
    size = check_size(name, size)
    for source in dataset.sources:
        source_path(source)
    path = cache_path(name, size)
    data = None if rebuild or not path.is_file() else Built.load(path)
    if data is None:
        data = dataset.build(size)
        path.parent.mkdir(parents=True, exist_ok=True)
        data.save(path)
    return data, path


# emoji-people's "diagonal" hold-out: each hair colour in one gender and one skin tone, six
# hair x gender x tone cells (one image each) that training never sees, although it sees every
# pair of their values.
DIAGONAL = tuple(f"hair={hair},gender={GENDERS[i % 3]},tone={TONES[1 + i % 5]}" for i, hair in enumerate(HAIRS[1:]))


def holdout_combos(spec: ConditionSpec, text: str | None) -> list[dict[int, int]]:
    """'diagonal' or 'hair=red,tone=dark; gender=man,age=older' -> [{factor index: value index}]:
    an image is held out when it matches every named value of one combination."""
    if not text:
        return []
    parts = DIAGONAL if text.strip() == "diagonal" else [p for p in text.split(";") if p.strip()]
    names = spec.factor_names
    combos = []
    for part in parts:
        combo = {}
        for item in filter(None, (i.strip() for i in part.split(","))):
            key, sep, value = (x.strip() for x in item.partition("="))
            if not sep or key not in names or value not in spec.factors[names.index(key)].values:
                raise CondganError(
                    f"data.holdout: '{item}' is not NAME=VALUE of this dataset's factors ({', '.join(names)}); "
                    "combinations are separated by ';' (or 'diagonal')"
                )
            combo[names.index(key)] = spec.factors[names.index(key)].values.index(value)
        combos.append(combo)
    return combos


def held_out(codes: np.ndarray, combos: list[dict[int, int]]) -> np.ndarray:
    """(N,) bool: the rows that match one of the combinations."""
    out = np.zeros(len(codes), bool)
    for combo in combos:
        out |= np.all([codes[:, j] == v for j, v in combo.items()], axis=0)
    return out


def load_font_dataset(
    name: str, split: str, img_size: int | None, channels: int | None, holdout: str | None = None
) -> ImageData:
    if split not in ("train", "test"):
        raise CondganError(f"{name} has the splits train and test, not '{split}'")
    if channels not in (None, 3):
        raise CondganError(f"{name} is in colour: data.channels must be 3, got {channels}")
    if holdout and name != "emoji-people":
        raise CondganError(f"data.holdout applies to coloured-mnist and emoji-people only, not {name}")
    data, _ = built(name, img_size)
    spec = ConditionSpec(data.factors)
    rows = data.test == (split == "test")
    if split == "train":  # held-out combinations are never seen in training; the test split keeps them
        rows &= ~held_out(data.codes, holdout_combos(spec, holdout))
    codes = data.codes[rows]
    labels = torch.from_numpy(codes[:, 0] if spec.is_classes else spec.encode(codes))
    inputs = torch.from_numpy(data.inputs[rows]) if data.inputs is not None else None
    return ImageData(torch.from_numpy(data.images[rows]), labels, spec.class_names, spec, inputs=inputs)


def class_names(name: str) -> tuple[str, ...]:
    data, _ = built(name)
    return ConditionSpec(data.factors).class_names
