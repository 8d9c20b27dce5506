"""What detection refuses to do, as ApplicationError subclasses with the HTTP status each means."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, ServiceUnavailable


class NoActiveModel(ServiceUnavailable):
    """No model version has been trained and activated yet."""

    default_message = (
        "No active model version: anomaly scores exist only after a training run "
        "(`manage.py train_models`, or Model versions -> Train now in the admin)."
    )


class ArtifactError(ServiceUnavailable):
    """A model artifact is missing or its bytes do not match the recorded sha256."""

    def __init__(self, message: str | None = None, **kwargs) -> None:
        super().__init__(f"The active model's files cannot be loaded: {message}" if message else None, **kwargs)
        self.reason = message or ""

    def __str__(self) -> str:
        return self.reason or self.message


class TrainingError(Conflict):
    """Training cannot start or did not finish; the active version is unchanged."""


class TrainingInProgress(TrainingError):
    """Another training run holds the lock."""


class InvalidRows(InvalidInput):
    """Some posted rows cannot be scored; `rows` maps each row's 0-based position to its reason."""

    def __init__(self, rows: dict[int, str]):
        self.rows = rows
        super().__init__(f"{len(rows)} invalid rows", errors={f"rows[{pos}]": [reason] for pos, reason in rows.items()})


class InvalidTrainingParameters(InvalidInput):
    """A training parameter is out of range; `errors` names each."""


class NotACandidate(Conflict):
    """Only a candidate version (trained without activation) can be activated as a candidate."""
