"""`field__any=[…]`: membership in a list of plain values sent as one array parameter.

Django's `__in` spells a list out as one placeholder per value: each value is prepared
through the field, and psycopg parses the statement afresh whenever it has more than fifty
parameters (its statement cache stops there). With the hundreds of ids of an ingest batch
that cost more than the query (bench: ingest). On PostgreSQL `__any` sends them as a single
array, `col = ANY(%s::type[])`: a short statement, parsed once. Elsewhere it is `__in`.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        if not isinstance(self.rhs, list | tuple | set | frozenset):
            # A subquery or an expression: nothing to gain over IN.
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        target = field.target_field if field.is_relation else field
        # Without a length: varchar(100)[] would make PostgreSQL cut longer values to match.
        db_type = target.db_type(connection).split("(")[0]
        # NULL equals nothing, as with __in; an empty array matches no row.
        values = [
            target.get_db_prep_value(value, connection) for value in self.rhs if value is not None
        ]
        return f"{lhs} = ANY(%s::{db_type}[])", (*lhs_params, values)


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
