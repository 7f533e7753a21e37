"""The Slack adapter (slack-bolt): Slack events in, engine calls, Block Kit out.

Nothing outside this package imports slack_bolt or slack_sdk. Entry point:
`adapters.slack.service.build_service(ctx)` (what `faqbot slack` runs).
"""
