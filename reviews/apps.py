from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Analysts' verdicts on transactions, their history, and the review queue in the admin."""

    name = "reviews"
