"""Which voice names eSpeak NG (from the espeakng-loader wheel) really has.

``espeak_SetVoiceByName`` is lenient: it also "accepts" a variant file alone ("Alex"), a
folder ("gmw") or an unknown variant ("en+nonsense") and then speaks with a broken or
silent voice. So names are checked here first, against the voice files themselves,
without loading the library (this runs in the API process, at mutation time):

* a language voice: its file name (``en-US``), its path under ``lang`` (``gmw/en-US``) or
  its ``name`` line (``English (America)``) -- what ``SetVoiceByName`` looks up; plain
  language codes that are not file names (``en-gb``) it does not find;
* optionally ``+variant`` with a file of ``voices/!v`` (``en-us+f3``).

Voices whose dictionary is not in the wheel are left out (eSpeak would speak nothing).
Matching ignores case, as eSpeak does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from editai.tts.espeak_files import espeak_data


@dataclass(frozen=True)
class VoiceCatalogue:
    voices: frozenset[str]  # lower-cased accepted names
    variants: frozenset[str]  # lower-cased variant names

    def accepts(self, name: str) -> bool:
        base, plus, variant = name.strip().partition("+")
        if base.casefold() not in self.voices:
            return False
        return not plus or variant.casefold() in self.variants


def _voice_names(path: Path, data: Path) -> set[str]:
    """The names eSpeak finds this voice file by; none if its dictionary is missing."""
    lang_root = data / "lang"
    names = {path.name.casefold(), path.relative_to(lang_root).as_posix().casefold()}
    language = dictionary = None
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, rest = raw.strip().partition(" ")
        value = rest.split("//")[0].strip()
        # eSpeak does not find a name that carries a comment: that voice goes by file name.
        if key == "name" and value and "//" not in rest:
            names.add(value.casefold())
        elif key == "language" and value and language is None:
            language = value.split()[0]
        elif key == "dictionary" and value:
            dictionary = value.split()[0]
    # eSpeak's default dictionary is the first language's code without its region.
    dictionary = dictionary or (language or path.name).split("-")[0].casefold()
    return names if (data / f"{dictionary}_dict").is_file() else set()


@lru_cache(maxsize=1)
def catalogue() -> VoiceCatalogue:
    data = espeak_data()
    lang_root = data / "lang"
    voices: set[str] = set()
    for path in lang_root.rglob("*"):
        if path.is_file():
            voices |= _voice_names(path, data)
    variants_dir = data / "voices" / "!v"
    variants = {p.name.casefold() for p in variants_dir.iterdir() if p.is_file()}
    return VoiceCatalogue(frozenset(voices), frozenset(variants))


def is_known_voice(name: str) -> bool:
    return catalogue().accepts(name)
