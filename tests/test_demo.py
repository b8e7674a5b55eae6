"""`polkuopas demo`: the seeds' example clients, seeded idempotently."""

from __future__ import annotations

from datetime import date

from polkuopas.admin import Admin
from polkuopas.demo import CLIENTS, PROFESSIONALS, seed_demo

TODAY = date(2026, 11, 23)


def seed(store, catalog) -> list[str]:
    return list(seed_demo(Admin(store, catalog, "demo"), today=TODAY))


def test_demo_seeds_every_path(store, catalog):
    seed(store, catalog)
    assert {c.path_id for c in store.list_clients()} == set(catalog.paths)
    assert len(store.list_professionals()) == len(PROFESSIONALS)


def test_demo_twice_changes_nothing(store, catalog):
    seed(store, catalog)
    audit_before = len(store.audit_entries())
    lines = seed(store, catalog)
    assert (
        lines[0] == f"demo professionals: 0 added, {len(PROFESSIONALS)} already there"
    )
    assert all(line.endswith("already there") for line in lines)
    assert len(store.audit_entries()) == audit_before


def test_demo_repairs_a_missing_assignment(store, catalog):
    seed(store, catalog)
    with store.transaction():
        store.unassign("demo-suvi", "ohjaaja", "ph-mika", TODAY)
    lines = seed(store, catalog)
    assert any(line.endswith(": ohjaaja=ph-mika") for line in lines)


def test_team_client_has_the_coordinator_pair(store, catalog):
    seed(store, catalog)
    pair = [a for a in store.assignments("demo-mika") if a.role == "asiakasvastaava"]
    assert [(a.professional.name, a.professional.role) for a in pair] == [
        ("Laura Mäkinen", "sosiaaliohjaaja"),
        ("Antti Karjalainen", "te_asiantuntija"),
    ]


def test_ended_demo_client_has_follow_up_due(store, catalog):
    seed(store, catalog)
    followup = store.find_followup("demo-paattynyt")
    assert (followup.role, followup.due_on, followup.due_by) == (
        "omatyontekija",
        "2026-11-14",
        "2027-01-14",
    )


def test_demo_data_fits_the_paths(catalog):
    for demo in CLIENTS:
        path = catalog.path(demo.path_id)
        assert path.has_step(demo.step_id), demo.id
        for role, _ in demo.assignments:
            assert role in path.roles_used(), (demo.id, role)
    assert {p[2] for p in PROFESSIONALS} <= set(catalog.roles)


def test_demo_has_one_staff_account_per_role_without_a_password(store, catalog):
    seed(store, catalog)
    staff = store.list_staff()
    assert sorted(m.role for m in staff) == ["admin", "polun_omistaja", "tyontekija"]
    assert not any(m.has_password for m in staff)
    worker = next(m for m in staff if m.role == "tyontekija")
    assert store.is_assigned("demo-suvi", worker.professional_id)
    owner = next(m for m in staff if m.role == "polun_omistaja")
    assert store.staff_paths(owner.id) == sorted(catalog.paths)
