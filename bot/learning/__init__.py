"""Learning from use: what maintainers teach and what askers' reactions say.

Owns teaching and its audit (`learning`: the `Learner`; `teach_text`: what a
taught text keeps and what teaching says back), votes on answers
(`feedback`), the question log (`question_log`), suggestions from usage signals
(`suggestions`, stored by `usage_store`), unanswered-question clusters (`gaps`),
entries nobody uses (`staleness`), and their commands (`learn_cli`: `faqbot
gaps/suggestions/stale`; `learning_cli`: `faqbot learned`).
"""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    learning: Action Actor Learner MessageRef TeachOutcome
    teach_text: clean_text say
    feedback: FeedbackStore
    suggestions: SignalKind SuggestionBook attach_suggestions record_none_of_these record_signal
    question_log: QuestionLog
    usage_store: UsageStore
""")
