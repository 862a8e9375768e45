"""Learning management: courses, students' enrollments.

``unfinished`` holds the course-progress route, which is declared but answers
501 until it is built; it is deliberately outside the knobbed router.
"""

import time

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .db import iso
from .knobs import KnobbedRoute

router = APIRouter(route_class=KnobbedRoute)
unfinished = APIRouter()

_COURSE_SELECT = ("SELECT c.id, c.code, c.title, c.description, c.credits, c.instructor,"
                  " (SELECT COUNT(*) FROM enrollments e WHERE e.course_id = c.id) AS enrolled_count FROM courses c")


class EnrollmentIn(BaseModel):
    course_id: int
    student_id: int


def _list_courses(conn, limit: int):
    return [dict(r) for r in conn.execute(f"{_COURSE_SELECT} ORDER BY c.id LIMIT ?", (limit,)).fetchall()]


def _get_course(conn, course_id: int):
    row = conn.execute(f"{_COURSE_SELECT} WHERE c.id = ?", (course_id,)).fetchone()
    return dict(row) if row else None


def _enroll(conn, course_id: int, student_id: int, now: str):
    """Returns the new enrollment, or "course_not_found" / "student_not_found" / "duplicate"."""
    with conn:
        if not conn.execute("SELECT 1 FROM courses WHERE id = ?", (course_id,)).fetchone():
            return "course_not_found"
        if not conn.execute("SELECT 1 FROM students WHERE id = ?", (student_id,)).fetchone():
            return "student_not_found"
        cursor = conn.execute("INSERT OR IGNORE INTO enrollments (course_id, student_id, status, enrolled_at)"
                              " VALUES (?, ?, 'active', ?)", (course_id, student_id, now))
        if not cursor.rowcount:
            return "duplicate"
    return _get_enrollment(conn, cursor.lastrowid)


def _get_enrollment(conn, enrollment_id: int):
    row = conn.execute("SELECT id, course_id, student_id, status, enrolled_at FROM enrollments WHERE id = ?",
                       (enrollment_id,)).fetchone()
    return dict(row) if row else None


@router.get("/api/lms/courses")
async def list_courses(request: Request, limit: int = Query(20, ge=1, le=100)):
    return JSONResponse(await request.app.state.db.read(_list_courses, limit))


@router.get("/api/lms/courses/{id}")
async def get_course(id: int, request: Request):
    course = await request.app.state.db.read(_get_course, id)
    if course is None:
        raise HTTPException(status_code=404, detail="course not found")
    return JSONResponse(course)


_ENROLL_ERRORS = {
    "course_not_found": (404, "course not found"),
    "student_not_found": (404, "student not found"),
    "duplicate": (409, "student already enrolled in this course"),
}


@router.post("/api/lms/enrollments", status_code=201)
async def create_enrollment(body: EnrollmentIn, request: Request):
    result = await request.app.state.db.run(_enroll, body.course_id, body.student_id, iso(time.time()))
    if isinstance(result, str):
        status, detail = _ENROLL_ERRORS[result]
        raise HTTPException(status_code=status, detail=detail)
    return JSONResponse(result, status_code=201, headers={"Location": f"/api/lms/enrollments/{result['id']}"})


@router.get("/api/lms/enrollments/{id}")
async def get_enrollment(id: int, request: Request):
    enrollment = await request.app.state.db.read(_get_enrollment, id)
    if enrollment is None:
        raise HTTPException(status_code=404, detail="enrollment not found")
    return JSONResponse(enrollment)


@unfinished.get("/api/lms/courses/{id}/progress")
async def course_progress(id: int):
    return JSONResponse({"detail": "not implemented"}, status_code=501)
