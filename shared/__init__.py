"""The schema library: wire contracts and plumbing shared by every service.

Nothing service-specific lives here: no ORM models of a service, no business rules.
"""
