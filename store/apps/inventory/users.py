"""DB028: users of the warehouse system."""
from __future__ import annotations

import store

from .enums import UserRole


class User(store.TimestampedModel):
    email = store.CharField(max_length=254, unique=True)
    full_name = store.CharField(max_length=200)
    role = store.EnumField(UserRole, default=UserRole.VIEWER)
    is_active = store.BooleanField(default=True)
    last_login_at = store.DateTimeTZField(null=True)

    class Meta:
        table_name = "users"
        # an "@" with something on both sides (no LIKE: a "%" in DDL trips
        # psycopg's placeholder parsing)
        checks = [store.Check("email_format", {
            "sqlite": "instr(email, '@') > 1 AND instr(email, '@') < length(email)",
            "postgresql": "strpos(email, '@') > 1 AND strpos(email, '@') < length(email)"})]
