"""What every chat adapter shares, so a new platform is only a folder under adapters/.

Owns the `/faq` grammar (`commands`), the answer texts in either language
(`text`) and the Markdown renderer they are built with (`markdown`), bounded
memories (`bounded`: `BoundedMap`, `Expiring`) and rate limits (`throttle`:
`ChannelRateLimiter`, `TokenBucket`, `SendGap`). Platform-free: no adapter
imports another, and nothing here imports a platform SDK.
"""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    commands: CommandKind PAIR_BAR USAGE_EN USAGE_ZH command_lang parse_command parse_number split_pair strip_prefix subcommand
    text: answer_text entry_full_text entry_list_text entry_ref in_lang listing missing_entry_text pick_range_text
        result_text show_parts suggestion_lines suggestions_head suggestions_text title unknown_text usage_text
    markdown: Block render render_blocks to_plain
    bounded: BoundedMap Expiring
    throttle: MAX_GROUPS ChannelRateLimiter SendGap TokenBucket
""")
