"""Tandem: a domain chatbot that runs a fine-tuned core and a persona layer in tandem.

`from bot import build_chain` is the way into the pipeline; nothing is loaded at import.
"""

from bot.chain import build_chain, with_session_memory

__all__ = ["build_chain", "with_session_memory"]
