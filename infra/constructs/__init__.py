"""One construct per concern, wired together by :class:`infra.constructs.stack.MemosStack`."""
