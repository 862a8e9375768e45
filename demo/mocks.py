"""Routes that are wired into the API but not backed by real logic yet.

They are left the way teams usually leave them while the real work is pending,
and nothing in their responses or headers says so; the give-aways are in the
behaviour, which is what a readiness/mock-detection stage has to spot:

* POST /api/retail-ai/predict-demand: the same canned forecast for any SKU and
  horizon (even unknown SKUs) after a fixed 120 ms sleep, which the latency
  knobs do not touch.
* /api/institutional/students[/{id}]: the static example object of an API
  description (what Prism or Swagger UI serve), for any id at all.
* /api/institutional/registrations: POST answers 201 with the same id every
  time and stores nothing, so reading it back is always 404.
* GET /notifications: one fixed placeholder list for every caller; the bearer
  token and any query parameters are ignored.
"""

import asyncio

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

router = APIRouter()

_FORECAST = {
    "sku": "SKU-00042",
    "horizon_days": 7,
    "model_version": "2.3.1",
    "generated_at": "2024-03-01T06:00:00Z",
    "confidence": 0.92,
    "forecast": [{"date": f"2024-03-{day:02d}", "units": units}
                 for day, units in zip(range(1, 8), (120, 118, 125, 131, 140, 152, 149))],
    "total_units": 935,
}

_STUDENT_EXAMPLE = {
    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "first_name": "string",
    "last_name": "string",
    "email": "user@example.com",
    "enrolled_at": "2019-08-24T14:15:22Z",
    "status": "active",
}

_NOTIFICATIONS = [
    {"id": 1, "title": "Sample notification", "type": "info", "read": False,
     "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "created_at": "2024-01-01T00:00:00Z"},
    {"id": 2, "title": "Sample notification", "type": "info", "read": False,
     "body": "Lorem ipsum dolor sit amet, sed do eiusmod tempor incididunt.", "created_at": "2024-01-01T00:00:00Z"},
    {"id": 3, "title": "Sample notification", "type": "warning", "read": True,
     "body": "Lorem ipsum dolor sit amet.", "created_at": "2024-01-01T00:00:00Z"},
]


class DemandRequest(BaseModel):
    sku: str
    horizon_days: int = 7


class RegistrationIn(BaseModel):
    student_id: str
    course_code: str


@router.post("/api/retail-ai/predict-demand")
async def predict_demand(body: DemandRequest):
    """Forecast unit demand for a SKU over the coming days."""
    await asyncio.sleep(0.120)
    return JSONResponse(_FORECAST)


@router.get("/api/institutional/students")
async def list_institutional_students():
    """Students registered with the institution."""
    return JSONResponse([_STUDENT_EXAMPLE] * 3)


@router.get("/api/institutional/students/{id}")
async def get_institutional_student(id: str):
    """One student of the institution."""
    return JSONResponse(_STUDENT_EXAMPLE)


@router.post("/api/institutional/registrations", status_code=201)
async def create_registration(body: RegistrationIn):
    """Register a student for a course."""
    return JSONResponse({"id": 1, "status": "registered", "student_id": body.student_id,
                         "course_code": body.course_code, "registered_at": "2019-08-24T14:15:22Z"},
                        status_code=201, headers={"Location": "/api/institutional/registrations/1"})


@router.get("/api/institutional/registrations/{id}")
async def get_registration(id: str):
    """One course registration."""
    raise HTTPException(status_code=404, detail="registration not found")


@router.get("/notifications")
async def list_notifications():
    """The caller's notifications, newest first."""
    return JSONResponse(_NOTIFICATIONS)
