FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1 COREGIT_REPO_ROOT=/data/repos
EXPOSE 8000
CMD ["gunicorn", "coregit_project.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--timeout", "300"]
