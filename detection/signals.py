"""Signals detection sends for apps above it (cases places new alerts) without importing them."""

from django.dispatch import Signal

# Sent inside the scoring transaction after new TransactionScore rows are written, with
# `version` (ModelVersion) and `transaction_ids` (list[int], the rows just scored). Not sent by training.
scores_written = Signal()
