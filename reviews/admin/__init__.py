"""The analysts' admin: the review queue, reviews with their history, and the combined transaction page."""

from . import queue, reviews, transaction_page  # noqa: F401  (each module registers its admin)
