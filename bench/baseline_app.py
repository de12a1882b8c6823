"""The baseline: bare Flask endpoints doing the least their counterpart could do.

Served by the same gunicorn settings as the real app, against the same database.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, redirect, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, func

metadata = MetaData()
rows = Table(
    "bench_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100)),
    Column("email", String(254)),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)

engine = create_engine(
    os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
    pool_size=int(os.environ.get("DB_POOL_SIZE", 5)),
    max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", 5)),
)
# Every gunicorn worker imports this module at once: an advisory lock lets one create the
# table while the others wait and then find it (racing CREATE TABLEs can fail a worker's boot).
with engine.begin() as connection:
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7240511)")
    metadata.create_all(connection)

app = Flask(__name__)

PAGE = """<!doctype html><html lang="en">
<head><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>{{ count }} signatures</p>
<form method="post"><input name="name"><input name="email"><button>Sign</button></form>
</body></html>"""


@app.post("/insert")
def insert_one_row():
    with engine.begin() as connection:
        connection.execute(
            rows.insert().values(name=request.form["name"], email=request.form["email"])
        )
    return redirect("/thanks", 303)


@app.post("/update/<int:row_id>")
def update_one_row(row_id: int):
    with engine.begin() as connection:
        connection.execute(rows.update().where(rows.c.id == row_id).values(name="confirmed"))
    return "updated\n"


@app.get("/json")
def json_endpoint():
    return jsonify({"slug": "baseline", "signature_count": 12345, "goal": 100000})


TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, as Flask does for template files


@app.get("/html")
def html_endpoint():
    return TEMPLATE.render(title="Baseline petition", count=12345)


@app.get("/healthz")
def healthz():
    return "ok\n"
