from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists; the planner's estimate for a whole large PostgreSQL table.

    ``COUNT(*)`` over millions of rows on every page view is what the design forbids. An
    unfiltered list asks PostgreSQL's statistics instead; small tables and filtered lists (which
    use indexes) are still counted exactly.
    """

    exact_below = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= self.exact_below:
                return row[0]
        return super().count


class CappedCountPaginator(EstimatedCountPaginator):
    """For filtered lists over very large tables: counts at most ``cap`` rows.

    A filter on an indexed column can still match millions of rows; counting them all on every
    page view is what the design forbids. Beyond the cap the list says "cap+" pages' worth and
    the staff member narrows the filter instead.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            return super().count
        return queryset.order_by()[: self.cap].count()
