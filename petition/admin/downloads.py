"""Files staff download: a started export streamed as a CSV attachment."""

from __future__ import annotations

from flask import Response, stream_with_context

from petition.services.exports import Export


def csv_download(export: Export) -> Response:
    response = Response(stream_with_context(export.chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
