"""The QQ adapter: QQ groups through a OneBot v11 implementation (NapCat,
LLOneBot, Lagrange.OneBot) over a forward or reverse WebSocket.

segments/events/addressing/gestures/throttle/memory/outgoing are pure; handler
decides what to say, teach turns teaching gestures into Learner calls (roles
knows who is a group admin); outbox and connection do the I/O; service wires
them into `faqbot qq`.
"""
