"""Training parameters, validated in one place for the command, the admin form and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .errors import InvalidTrainingParameters

MAX_EPOCHS = 500
MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class TrainingParameters:
    """How a model version is trained.

    contamination: the share of rows each model flags, 0 < c < 0.5; epochs: autoencoder epochs,
    1..500; seed: the random seed of the fit (forest, autoencoder, sampling), 0..2**31-1;
    candidate: true to keep the trained version as a candidate instead of activating it.
    """

    contamination: float = 0.02
    epochs: int = 20
    seed: int = 0
    candidate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> TrainingParameters:
        """Return validated parameters from `data` (missing keys take the defaults).

        Raises InvalidTrainingParameters naming every bad or unknown field.
        """
        data = data or {}
        if not isinstance(data, Mapping):
            raise InvalidTrainingParameters(errors={"body": ["send an object with contamination, epochs and seed"]})
        errors: dict[str, list[str]] = {}
        allowed = ", ".join(cls.__dataclass_fields__)
        for key in sorted(set(data) - set(cls.__dataclass_fields__)):
            errors[str(key)] = [f"unknown field; allowed: {allowed}"]
        defaults = cls()
        contamination = _number(data.get("contamination", defaults.contamination))
        if contamination is None or not 0.0 < contamination < 0.5:
            errors["contamination"] = ["must be a number between 0 and 0.5 (exclusive), such as 0.02"]
        epochs = _whole(data.get("epochs", defaults.epochs))
        if epochs is None or not 1 <= epochs <= MAX_EPOCHS:
            errors["epochs"] = [f"must be a whole number from 1 to {MAX_EPOCHS}"]
        seed = _whole(data.get("seed", defaults.seed))
        if seed is None or not 0 <= seed <= MAX_SEED:
            errors["seed"] = [f"must be a whole number from 0 to {MAX_SEED}"]
        candidate = data.get("candidate", defaults.candidate)
        if not isinstance(candidate, bool):
            errors["candidate"] = ["must be true or false"]
        if errors:
            raise InvalidTrainingParameters(f"Invalid input: {', '.join(errors)}.", errors=errors)
        return cls(contamination=float(contamination), epochs=int(epochs), seed=int(seed), candidate=candidate)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None
