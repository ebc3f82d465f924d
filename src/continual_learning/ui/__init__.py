"""Terminal rendering (Rich). The only place, with ``cli/``, that knows a terminal exists."""
