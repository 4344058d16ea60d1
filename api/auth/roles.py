"""Roles, and who a request acts for: the principal with the stores it may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["hq_admin", "region_manager", "store_manager", "assistant", "integration"]
ROLES: tuple[Role, ...] = get_args(Role)

# Who sees a member's personal data (phone): the people who contact members. Assistants
# see name, tier and history on the shop floor, never contact details.
PERSONAL_DATA_ROLES: frozenset[Role] = frozenset({"hq_admin", "store_manager"})
# Who reads the audit log of member-profile views (their stores' entries).
AUDIT_READERS: frozenset[Role] = frozenset({"hq_admin", "store_manager"})
MANAGERS: frozenset[Role] = frozenset({"hq_admin", "region_manager", "store_manager"})


@dataclass(frozen=True)
class Principal:
    """The user a request acts for. `stores` None means the whole organisation."""

    user: str
    name: str
    role: Role
    stores: frozenset[str] | None
    regions: frozenset[str] = frozenset()
    staff: str | None = None
    via: Literal["session", "api_token"] = "session"
    session: str | None = None

    @property
    def everywhere(self) -> bool:
        return self.stores is None

    def may_see(self, store: str) -> bool:
        return self.stores is None or store in self.stores

    def may_see_region(self, region: str) -> bool:
        return self.stores is None or region in self.regions

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES

    def visible(self, stores: list[str] | None = None) -> list[str] | None:
        """The stores a listing may show: None for all, else a sorted list."""
        if self.stores is None:
            return stores
        if stores is None:
            return sorted(self.stores)
        return [store for store in stores if store in self.stores]
