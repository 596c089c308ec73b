"""gunicorn settings, read from the working directory (``make run``; Docker's WORKDIR /app)."""

# gunicorn's maximum (its default 4094 answers an HTML 414 before Django sees the request): the
# API caps what it reads itself (a cursor is at most 512 characters) and answers JSON 400.
limit_request_line = 8190
