"""Front ends: the non-interactive CLI (``main.py``) and the interactive menu (``menu.py``)."""
