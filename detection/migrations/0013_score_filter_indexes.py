"""PostgreSQL indexes for the grid's filters that read every row's copied text or unit price.

Trigram GIN indexes (extension pg_trgm) on the text columns the grid filters with "contains":
Django's `icontains` there is `UPPER(column::text) LIKE UPPER('%text%')`, so each index is on
UPPER(column), and the planner reads a contains filter's candidate rows from it instead of every
row's text. `score_unit_price` (unit_price, model_version, transaction_id) gives a UnitPrice filter's
matching rows and count from the index alone, as `score_quantity` does for Quantity.

On PostgreSQL only: SQLite has neither GIN nor pg_trgm (LIKE '%text%' reads every row), and on its
sampled statistics it reads a version's rows through score_date for a price range rather than
through a price-led index, which would only cost every training write there. The indexes are
therefore not in the model's Meta, which both databases share; migrating does nothing on SQLite.
"""

from django.db import migrations

TABLE = "detection_transactionscore"
TRIGRAM_COLUMNS = ("invoice_no", "stock_code", "description", "country")
UNIT_PRICE_INDEX = "score_unit_price"


def trigram_index(column: str) -> str:
    return f"score_{column}_trgm"


def add_indexes(apps, schema_editor):
    """CREATE EXTENSION pg_trgm, one GIN index per column and the unit price index, on PostgreSQL."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(trigram_index(column))} ON {quote(TABLE)} "
            f"USING gin (UPPER({quote(column)}) gin_trgm_ops)"
        )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(UNIT_PRICE_INDEX)} ON {quote(TABLE)} "
        f'("unit_price", "model_version_id", "transaction_id")'
    )
    schema_editor.execute(f"ANALYZE {quote(TABLE)}")


def remove_indexes(apps, schema_editor):
    """Drop the indexes on PostgreSQL (the extension stays: other objects may use it)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in (*map(trigram_index, TRIGRAM_COLUMNS), UNIT_PRICE_INDEX):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0012_score_transaction_columns"),
    ]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
