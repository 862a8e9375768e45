// A hand-rolled Express mock of the LMS API, the kind a frontend team writes in an afternoon:
// fixtures in arrays, lookups that 404 properly, an in-memory POST, a random "live" number.
//   node server.js 3001
const express = require("express");

const app = express();
app.use(express.json());

const courses = [
  { id: 1, title: "Intro to Statistics", teacher: "Jane Doe", seats: 30, startDate: "2024-01-08" },
  { id: 2, title: "Linear Algebra", teacher: "John Smith", seats: 25, startDate: "2024-01-15" },
  { id: 3, title: "Machine Learning 101", teacher: "Jane Doe", seats: 40, startDate: "2024-02-01" },
];
const enrollments = [{ id: 1, courseId: 1, studentId: 100, status: "active" }];
let nextEnrollment = 2;

app.get("/api/courses", (req, res) => {
  const limit = Number(req.query.limit || courses.length);
  res.json({ items: courses.slice(0, limit), total: courses.length });
});

app.get("/api/courses/:id", (req, res) => {
  const course = courses.find((c) => c.id === Number(req.params.id));
  if (!course) return res.status(404).json({ error: "Course not found" });
  res.json(course);
});

app.get("/api/courses/:id/students", (req, res) => {
  res.json([
    { id: 100, name: "Test Student", email: "student@example.com" },
    { id: 101, name: "Foo Bar", email: "foo@bar.com" },
  ]);
});

app.post("/api/enrollments", (req, res) => {
  const enrollment = { id: nextEnrollment++, status: "active", ...req.body };
  enrollments.push(enrollment);
  res.status(201).json(enrollment);
});

app.get("/api/enrollments", (req, res) => {
  res.json(enrollments.filter((e) => !req.query.studentId || String(e.studentId) === req.query.studentId));
});

app.get("/api/students/:id/progress", (req, res) => {
  res.json({ studentId: req.params.id, completed: Math.floor(Math.random() * 10), total: 10, updatedAt: new Date().toString() });
});

app.get("/api/live/attendance", (req, res) => {
  setTimeout(() => res.json({ online: 42, peak: 57, updatedAt: "2024-01-15T10:00:00Z" }), 100);
});

app.post("/api/grades", (req, res) => {
  res.status(201).json({ success: true, id: 1 });
});

app.get("/health", (req, res) => res.json({ status: "UP" }));

const port = Number(process.argv[2] || 3001);
app.listen(port, "127.0.0.1", () => console.log(`LMS mock on ${port}`));
