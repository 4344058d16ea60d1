"""Which routes need which roles, and which need no token at all.

Every route of the app passes the guard (`api/auth/guard.py`, a dependency of the whole
app, so routers added later are covered without anyone remembering to). For a route:

- listed in EXEMPT: no token (health, metrics, the web app's page, login and refresh);
- listed in ROUTE_ROLES: the roles given there;
- otherwise: GET (reading) for every role, any other method for hq_admin only, so that a
  new write route is closed until someone decides who may use it.

Store scope applies on top, whatever the role: a `store` path or query parameter outside
the principal's stores is 403. Listing routes with an optional `store` query parameter
must be listed in SCOPE_FILTERED (they filter by the principal's stores themselves);
until then a principal bound to some stores must name one of them (`?store=`), or 403.
"""

from __future__ import annotations

from api.auth.roles import AUDIT_READERS, MANAGERS, ROLES, Role

# Documented exemptions: /healthz (load balancers, no data: status and a client count),
# /metrics (Prometheus scrapes it without credentials; counters only, no personal data:
# keep the port on the internal network), the web app's page (it shows the login form),
# login and refresh (they take credentials in the body). OpenAPI's /docs and
# /openapi.json are documentation, not data (and not routes the guard sees).
EXEMPT: frozenset[str] = frozenset(
    {"/healthz", "/metrics", "/", "/api/v1/auth/login", "/api/v1/auth/refresh"}
    # The web app's static files (api/routes/webapp.py): code and icons, no data.
    | {"/manifest.webmanifest", "/sw.js", "/app/{asset:path}", "/icons/{asset:path}"}
)

EVERYONE: frozenset[Role] = frozenset(ROLES)
HQ: frozenset[Role] = frozenset({"hq_admin"})
FEEDS: frozenset[Role] = frozenset({"hq_admin", "integration"})

ROUTE_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/api/v1/alerts/{alert_id}/claim"): EVERYONE,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): EVERYONE,
    ("GET", "/api/v1/stores/{store}/rules"): MANAGERS,
    ("PUT", "/api/v1/stores/{store}/rules"): MANAGERS,
    ("POST", "/api/v1/stores/{store}/devices/{device}/events"): FEEDS,
    ("POST", "/api/v1/members/import"): FEEDS,
    ("POST", "/api/v1/staff/import"): FEEDS,
    ("POST", "/api/v1/products/import"): FEEDS,
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("GET", "/api/v1/auth/audit"): AUDIT_READERS,
    ("POST", "/api/v1/auth/password"): EVERYONE,
    ("GET", "/api/v1/auth/users"): HQ,
    ("GET", "/api/v1/auth/users/{user_id}"): HQ,
    ("GET", "/api/v1/auth/tokens"): HQ,
    # Every device's broker credentials (hashes) and ACL: for whoever runs the broker.
    ("GET", "/api/v1/devices/mosquitto/passwd"): HQ,
    ("GET", "/api/v1/devices/mosquitto/acl"): HQ,
    # Follow-up tasks: of the principal's stores (api/routes/tasks.py checks the task's).
    ("POST", "/api/v1/tasks"): EVERYONE,
    ("POST", "/api/v1/tasks/{task_id}/complete"): EVERYONE,
    ("POST", "/api/v1/tasks/{task_id}/cancel"): MANAGERS | FEEDS,
    # Every member's personal data at once: HQ, and integrations (CRM sync).
    ("GET", "/api/v1/members"): FEEDS,
    ("GET", "/api/v1/members/export"): FEEDS,
    # Staff: managers see those working in their stores (api/routes/registry.py filters).
    ("GET", "/api/v1/staff"): MANAGERS | FEEDS,
    ("GET", "/api/v1/staff/export"): FEEDS,
    ("GET", "/api/v1/staff/{staff_id}"): MANAGERS | FEEDS,
    # A store's staff and shifts (the manager's Staff view): everyone of the store reads
    # (badges for managers and integrations only); its managers change the shifts there.
    ("GET", "/api/v1/stores/{store}/staff"): EVERYONE,
    ("PUT", "/api/v1/stores/{store}/staff/{staff_id}/shifts"): MANAGERS,
    # Web Push: any signed-in person may have alerts of their own stores pushed.
    ("POST", "/api/v1/push/subscriptions"): EVERYONE,
    ("POST", "/api/v1/push/subscriptions/delete"): EVERYONE,
}

# Routes whose data is the whole organisation's (the registry CSVs carry no store): only
# principals that see every store may call them, whatever their role.
ORG_WIDE: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/members/import"),
        ("POST", "/api/v1/staff/import"),
        ("POST", "/api/v1/products/import"),
        ("GET", "/api/v1/members"),
        ("GET", "/api/v1/members/export"),
        ("GET", "/api/v1/staff/export"),
        ("GET", "/api/v1/devices/mosquitto/passwd"),
        ("GET", "/api/v1/devices/mosquitto/acl"),
    }
)

# A member's profile: opened only where the member is now (api/auth/members.py), audited.
MEMBER_PROFILES: frozenset[tuple[str, str]] = frozenset({("GET", "/api/v1/members/{member_id}")})
# Bulk reads of members' personal data, audited as one entry each (member "*").
AUDITED_BULK: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/members"): "members.list",
    ("GET", "/api/v1/members/export"): "members.export",
}

# Listing routes that show only the principal's stores when no `store` is named.
SCOPE_FILTERED: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/alerts"),
        ("GET", "/api/v1/alerts/stream"),
        ("WEBSOCKET", "/api/v1/alerts/ws"),
        ("GET", "/api/v1/alerts/outcomes"),
        ("GET", "/api/v1/devices"),
        ("GET", "/api/v1/auth/audit"),
        ("GET", "/api/v1/members/{member_id}"),
        *(
            ("GET", f"/api/v1/analytics/{name}")
            for name in (
                "traffic",
                "dwell",
                "fitting-rooms",
                "conversion",
                "repurchase",
                "alerts",
                "followups",
                "overview",
            )
        ),
    }
)


def allowed_roles(method: str, path: str) -> frozenset[Role]:
    roles = ROUTE_ROLES.get((method, path))
    if roles is not None:
        return roles
    return EVERYONE if method in ("GET", "HEAD", "WEBSOCKET") else HQ
