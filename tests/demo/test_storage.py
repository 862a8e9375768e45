"""Seed data determinism and the database circuit breaker."""

import sqlite3

from demo.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from demo.db import init_db


def dump(path, table):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_seed_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    assert init_db(a, seed=42) and init_db(b, seed=42) and init_db(c, seed=7)
    for table in ("users", "products", "inventory_items", "courses", "students", "enrollments",
                  "wallets", "wallet_transactions"):
        assert dump(a, table) == dump(b, table), table
    assert dump(a, "products") != dump(c, "products")


def test_existing_database_is_not_reseeded(tmp_path):
    path = tmp_path / "d.db"
    assert init_db(path) is True
    conn = sqlite3.connect(path)
    conn.execute("UPDATE products SET stock = 1 WHERE id = 1")
    conn.commit()
    conn.close()
    assert init_db(path) is False
    assert dump(path, "products")[0][4] == 1


def test_circuit_breaker_opens_and_recovers():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=5, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()
    now[0] = 5.0
    assert breaker.state == HALF_OPEN and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN
    now[0] = 10.0
    breaker.record_success()
    assert breaker.state == CLOSED
