"""The QQ adapter: QQ groups through a OneBot v11 implementation (NapCat,
LLOneBot, Lagrange.OneBot) over a forward or reverse WebSocket.

segments/events/addressing/throttle/memory are pure; handler decides what to
say; outbox and connection do the I/O; service wires them into `faqbot qq`.
"""
