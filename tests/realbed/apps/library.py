"""A real library API (FastAPI + SQLite file) for the readiness bed's held-out group, run as its own
process: ``python -m tests.realbed.apps.library --port 8124 --db /tmp/library.sqlite3``.

Books, members and loans are persisted: a loan marks the book as out and shows in the member's
loans; returning it puts the book back. ``CANNED`` handlers return hard-coded data while their
real work is pending.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

CANNED = ("GET /books/{isbn}/availability-forecast", "GET /members/{member_id}/recommendations",
          "POST /members/{member_id}/notifications")

BOOKS = [("9780262033848", "Introduction to Algorithms", "Cormen", 3), ("9780131103627", "The C Programming Language",
         "Kernighan", 2), ("9780201633610", "Design Patterns", "Gamma", 1), ("9781492056355", "Fluent Python", "Ramalho", 4)]
MEMBERS = [(1, "Ada Lovelace"), (2, "Grace Hopper"), (3, "Edsger Dijkstra")]


class NewLoan(BaseModel):
    isbn: str = Field(min_length=10, max_length=13)
    member_id: int


class NewBook(BaseModel):
    isbn: str = Field(min_length=10, max_length=13)
    title: str = Field(min_length=1)
    author: str = Field(min_length=1)
    copies: int = Field(1, ge=1, le=50)


class Notification(BaseModel):
    message: str


def make_app(db_path: str) -> FastAPI:
    db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    lock = threading.Lock()
    with lock:
        db.executescript("""
            CREATE TABLE IF NOT EXISTS books (isbn TEXT PRIMARY KEY, title TEXT, author TEXT, copies INTEGER,
                                              out INTEGER DEFAULT 0);
            CREATE TABLE IF NOT EXISTS members (id INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE IF NOT EXISTS loans (id INTEGER PRIMARY KEY AUTOINCREMENT, isbn TEXT, member_id INTEGER,
                                              due TEXT, returned_at TEXT);""")
        if not db.execute("SELECT count(*) FROM books").fetchone()[0]:
            db.executemany("INSERT INTO books (isbn, title, author, copies) VALUES (?,?,?,?)", BOOKS)
            db.executemany("INSERT INTO members VALUES (?,?)", MEMBERS)

    def rows(sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with lock:
            return [dict(r) for r in db.execute(sql, args).fetchall()]

    app = FastAPI(title="Library API", version="1.4.0")

    @app.get("/books")
    def books(author: str | None = None, limit: int = Query(20, ge=1, le=100)):
        if author:
            return rows("SELECT * FROM books WHERE author LIKE ? LIMIT ?", (f"%{author}%", limit))
        return rows("SELECT * FROM books ORDER BY title LIMIT ?", (limit,))

    @app.post("/books", status_code=201)
    def add_book(body: NewBook, response: Response):
        if rows("SELECT isbn FROM books WHERE isbn = ?", (body.isbn,)):
            raise HTTPException(409, f"book {body.isbn} already exists")
        with lock:
            db.execute("INSERT INTO books (isbn, title, author, copies) VALUES (?,?,?,?)",
                       (body.isbn, body.title, body.author, body.copies))
        response.headers["Location"] = f"/books/{body.isbn}"
        return rows("SELECT * FROM books WHERE isbn = ?", (body.isbn,))[0]

    @app.get("/books/{isbn}")
    def book(isbn: str):
        found = rows("SELECT * FROM books WHERE isbn = ?", (isbn,))
        if not found:
            raise HTTPException(404, f"no book with ISBN {isbn}")
        return found[0]

    @app.delete("/books/{isbn}", status_code=204)
    def remove_book(isbn: str):
        with lock:
            if not db.execute("DELETE FROM books WHERE isbn = ? AND out = 0", (isbn,)).rowcount:
                raise HTTPException(404, f"no book with ISBN {isbn} on the shelf")
        return Response(status_code=204)

    @app.get("/members/{member_id}/loans")
    def member_loans(member_id: int):
        if not rows("SELECT id FROM members WHERE id = ?", (member_id,)):
            raise HTTPException(404, "member not found")
        return rows("SELECT * FROM loans WHERE member_id = ? AND returned_at IS NULL", (member_id,))

    @app.post("/loans", status_code=201)
    def lend(body: NewLoan):
        with lock:
            book = db.execute("SELECT * FROM books WHERE isbn = ?", (body.isbn,)).fetchone()
            if book is None or not db.execute("SELECT 1 FROM members WHERE id = ?", (body.member_id,)).fetchone():
                raise HTTPException(404, "book or member not found")
            if book["out"] >= book["copies"]:
                raise HTTPException(409, "no copy left")
            due = (date.today() + timedelta(days=21)).isoformat()
            loan_id = db.execute("INSERT INTO loans (isbn, member_id, due) VALUES (?,?,?)",
                                 (body.isbn, body.member_id, due)).lastrowid
            db.execute("UPDATE books SET out = out + 1 WHERE isbn = ?", (body.isbn,))
        return {"id": loan_id, "isbn": body.isbn, "member_id": body.member_id, "due": due}

    @app.post("/loans/{loan_id}/return")
    def give_back(loan_id: int):
        with lock:
            loan = db.execute("SELECT * FROM loans WHERE id = ? AND returned_at IS NULL", (loan_id,)).fetchone()
            if loan is None:
                raise HTTPException(404, "no open loan with this id")
            db.execute("UPDATE loans SET returned_at = ? WHERE id = ?",
                       (datetime.now(timezone.utc).isoformat(), loan_id))
            db.execute("UPDATE books SET out = out - 1 WHERE isbn = ?", (loan["isbn"],))
        return {"id": loan_id, "returned": True}

    @app.get("/stats")
    def stats():
        return rows("SELECT (SELECT count(*) FROM books) AS books, (SELECT sum(out) FROM books) AS out, "
                    "(SELECT count(*) FROM loans) AS loans")[0]

    # ---- canned while the real work is pending ----------------------------------------------
    @app.get("/books/{isbn}/availability-forecast")
    def forecast(isbn: str):
        return {"isbn": "9780262033848", "available_in_days": 3, "confidence": 0.8}

    @app.get("/members/{member_id}/recommendations")
    def recommendations(member_id: int):
        return [{"isbn": "9781492056355", "title": "Fluent Python"}, {"isbn": "9780201633610", "title": "Design Patterns"}]

    @app.post("/members/{member_id}/notifications", status_code=202)
    def notify(member_id: int, body: Notification):
        return {"status": "queued", "id": "00000000-0000-0000-0000-000000000000"}

    return app


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    uvicorn.run(make_app(args.db), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
