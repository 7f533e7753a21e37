"""Matching: a question in, a typed decision out (answer, did-you-mean, or stay quiet).

Owns text normalisation (`normalize`), the retrieval (`vectorize`: the TF-IDF
space; `classifier`; `fuzzy`; `index`: a pack in that space), the scoring
(`matcher`), the score calibration (`calibration`), the engine that decides
(`engine`), the typed results every adapter renders (`types`), and the glossary
and chit-chat data (`glossary`, `chatter`, `data/`). Nothing here does I/O
beyond reading packs.

The function `normalize` shares its module's name, so the package cannot export
it (the submodule attribute would shadow it): `from bot.matching.normalize import normalize`.
"""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    engine: Engine LearnedOverlay
    types: Candidate Decision Entry LANG_EN LANG_ZH MatchResult Mode Pack PackError Reason Thresholds
    normalize: detect_lang
    matcher: rank
    calibration: calibrate_pack
""")
