from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists; the planner's estimate for a whole large PostgreSQL table.

    ``COUNT(*)`` over millions of rows on every page view is what the design forbids. An
    unfiltered list asks PostgreSQL's statistics instead (``estimated`` says so); small tables are
    counted exactly. Filtered lists are counted exactly unless ``cap`` is set: then at most ``cap``
    rows are counted, and ``capped`` says that more match (the list pages through the first
    ``cap``), so the page can say so instead of showing a figure it does not know.
    """

    exact_below = 10_000
    cap: int | None = None

    estimated = False
    capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                        [queryset.model._meta.db_table],
                    )
                    row = cursor.fetchone()
                if row and row[0] >= self.exact_below:
                    self.estimated = True
                    return row[0]
            return super().count
        if self.cap is None:
            return super().count
        # One row past the cap tells "exactly cap" from "more than cap"; the scan stops there.
        counted = queryset.order_by()[: self.cap + 1].count()
        if counted > self.cap:
            self.capped = True
            return self.cap
        return counted


class CappedCountPaginator(EstimatedCountPaginator):
    """For filtered lists over very large tables: counts at most ``cap`` rows.

    A filter on an indexed column can still match millions of rows; counting them all on every
    page view is what the design forbids. Beyond the cap the list pages through the first ``cap``
    rows, ``capped`` is set, and the staff member narrows the filter to see the rest.
    """

    cap = 10_000
