"""Knowledge: the curated packs the bot answers from, and how they are made.

Owns loading and validating a pack (`pack`), importing any Markdown FAQ into one
(`markdown_faq` parses, `importer` writes, `import_cli` is `faqbot import`), and
the catalogue of sections and entries shown by `/faq list` (`catalog`).
"""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    pack: check_pack load_pack
    importer: import_markdown
    markdown_faq: parse_document
""")
