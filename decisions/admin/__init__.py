"""The decisions admin: policies and rules, lists, the audit log."""

from . import lists, policies  # noqa: F401  (each module registers its admin)
