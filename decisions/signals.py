"""Signals of the decisions app, for apps above it (cases) that act on new decisions without being imported."""

from django.dispatch import Signal

# Sent inside the deciding transaction after rows are decided for the first time (new scores, not
# a re-decide of stored rows after a policy change), with `version` and `transaction_ids` of the
# rows decided review or block.
alerts_decided = Signal()
